// RUN: ds-opt %s --ds-autodiff="loss-function=mse" --canonicalize | FileCheck %s --check-prefix=MSE
// RUN: ds-opt %s --ds-autodiff="loss-function=cross-entropy" --canonicalize | FileCheck %s --check-prefix=CE
// Standard losses appended to the model's output.

// MSE-LABEL: func.func @main(
// MSE-SAME: %[[X:[a-z0-9]+]]: tensor<4x8xf32>, %[[T:[a-z0-9]+]]: tensor<4x3xf32> {ds.name = "target"}, %[[W:[a-z0-9]+]]: tensor<8x3xf32> {ds.default
// MSE-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8x3xf32> {ds.name = "w.grad"})
// MSE: %[[Y:.*]] = ds.matmul %[[X]], %[[W]]
// MSE: %[[D:.*]] = ds.binary sub %[[Y]], %[[T]]
// MSE: ds.reduce mean {{.*}}axes = array<i64: 0, 1>, keepdims = false

// Cross-entropy: the mean over the 4 rows of -log softmax at the label.
// CE-LABEL: func.func @main(
// CE-SAME: tensor<4xi64> {ds.name = "labels"}
// CE: ds.constant dense<4.000000e+00> : tensor<f32>
// CE: %[[LOGP:.*]] = ds.softmax %{{.*}} {axis = 1 : i64, log}
// CE: %[[HIT:.*]] = ds.compare eq
// CE: ds.select %[[HIT]], %[[LOGP]]
// CE: ds.reduce sum
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x3xf32> {ds.name = "logits"}) {
  %w = ds.constant dense<0.1> : tensor<8x3xf32> loc("w")
  %y = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
