// RUN: ds-opt %s --ds-autodiff --ds-optimizer-step="optimizer=sgd lr=0.5 momentum=0.9" --canonicalize | FileCheck %s --check-prefix=SGD
// RUN: ds-opt %s --ds-autodiff --ds-optimizer-step="optimizer=adamw lr=0.001 weight-decay=0.1" --canonicalize | FileCheck %s --check-prefix=ADAMW
// RUN: ds-opt %s --ds-autodiff="scale-loss=true" --ds-optimizer-step="optimizer=sgd" --canonicalize | FileCheck %s --check-prefix=SCALED
// ds-optimizer-step: the gradient program becomes one training step.

// SGD with momentum: b ← μ b + g, p ← p − lr b.
// SGD-LABEL: func.func @main(
// SGD-SAME: %[[W:[a-z0-9]+]]: tensor<8x3xf32> {ds.default = {{.*}}, ds.name = "w", ds.parameter}
// SGD-SAME: %[[LR:[a-z0-9]+]]: tensor<f32> {ds.default = dense<5.000000e-01> : tensor<f32>, ds.name = "learning_rate"}
// SGD-SAME: %[[B:[a-z0-9]+]]: tensor<8x3xf32> {ds.default = dense<0.000000e+00> : tensor<8x3xf32>, ds.name = "w.momentum"}
// SGD-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8x3xf32> {ds.name = "w.next"}, tensor<8x3xf32> {ds.name = "w.momentum.next"})
// SGD: %[[MB:.*]] = ds.binary mul %{{.*}}, %[[B]]
// SGD: %[[NB:.*]] = ds.binary add %[[MB]], %[[G:.*]] :
// SGD: %[[STEP:.*]] = ds.binary mul %[[LR]], %[[NB]]
// SGD: %[[NW:.*]] = ds.binary sub %[[W]], %[[STEP]]
// SGD: return %{{.*}}, %[[NW]], %[[NB]]

// AdamW: moments, bias corrections from the step number, decoupled decay.
// ADAMW-LABEL: func.func @main(
// ADAMW-SAME: ds.name = "learning_rate"
// ADAMW-SAME: %[[T:[a-z0-9]+]]: tensor<f32> {ds.default = dense<1.000000e+00> : tensor<f32>, ds.name = "step"}
// ADAMW-SAME: ds.name = "w.adam_m"
// ADAMW-SAME: ds.name = "w.adam_v"
// ADAMW-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8x3xf32> {ds.name = "w.next"}, tensor<8x3xf32> {ds.name = "w.adam_m.next"}, tensor<8x3xf32> {ds.name = "w.adam_v.next"})
// ADAMW: ds.binary pow %{{.*}}, %[[T]]
// ADAMW: ds.unary sqrt
// Loss scaling: the seed is the scale, the gradient is divided by it, and a
// non-finite gradient keeps the parameter as it was.
// SCALED-LABEL: func.func @main(
// SCALED-SAME: %[[W:[a-z0-9]+]]: tensor<8x3xf32> {ds.default = {{.*}}, ds.name = "w", ds.parameter}
// SCALED-SAME: %[[S:[a-z0-9]+]]: tensor<f32> {ds.default = dense<1.000000e+00> : tensor<f32>, ds.name = "loss_scale"}
// SCALED-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8x3xf32> {ds.name = "w.next"}, tensor<f32> {ds.name = "grads_finite"})
// SCALED: %[[G:.*]] = ds.binary div %{{.*}}, %[[S]]
// SCALED: ds.unary is_nan %[[G]]
// SCALED: ds.unary is_inf %[[G]]
// SCALED: ds.reduce max
// SCALED: %[[OK:.*]] = ds.compare gt
// SCALED: %[[NEXT:.*]] = ds.select %[[OK]], %{{.*}}, %[[W]]
// SCALED: return %{{.*}}, %[[NEXT]], %{{.*}}
func.func @main(%x: tensor<4x8xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<0.1> : tensor<8x3xf32> loc("w")
  %y = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %s = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x3xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
