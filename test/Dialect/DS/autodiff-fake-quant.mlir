// RUN: ds-opt %s --split-input-file --ds-autodiff --canonicalize --cse | FileCheck %s
// ds-autodiff through fake quantization (dequantize(quantize(w)), as QAT
// exports write it): the straight-through estimator with clipping, the
// gradient passing where round(w / s) + zp lies in the integer range.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<4x3xf32> {ds.default = {{.*}}, ds.name = "w", ds.parameter}
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<4x3xf32> {ds.name = "w.grad"})
// CHECK: %[[Q:.*]] = ds.quantize %[[W]]
// CHECK: ds.dequantize %[[Q]]
// CHECK: %[[DIV:.*]] = ds.binary div %[[W]], %{{.*}} : (tensor<4x3xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
// CHECK: %[[T:.*]] = ds.unary round %[[DIV]]
// CHECK: %[[Z:.*]] = ds.binary add %[[T]], %{{.*}} : (tensor<4x3xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
// CHECK-DAG: %[[GE:.*]] = ds.compare ge %[[Z]], %{{.*}}
// CHECK-DAG: %[[LE:.*]] = ds.compare le %[[Z]], %{{.*}}
// CHECK: %[[IN:.*]] = ds.binary and %[[GE]], %[[LE]]
// CHECK: %[[DW:.*]] = ds.select %[[IN]], %{{.*}}, %{{.*}}
// CHECK: return %{{.*}}, %[[DW]]
func.func @main(%x: tensor<2x4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<[[0.1, -0.2, 7.0], [0.3, -8.0, 0.05], [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]]> : tensor<4x3xf32> loc("w")
  %s = ds.constant dense<[0.05, 0.04, 0.03]> : tensor<3xf32>
  %zp = ds.constant dense<[0, 1, -1]> : tensor<3xi8>
  %q = ds.quantize %w, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xi8>
  %dq = ds.dequantize %q, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xf32>
  %y = ds.matmul %x, %dq : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// PyTorch's export of an activation's FakeQuantize: quant_max 127 as a clamp
// of the uint8 values between quantize and dequantize narrows the range the
// gradient passes in to [0, 127].
// CHECK-LABEL: func.func @main(
// CHECK-DAG: %[[LO:.*]] = ds.constant dense<0.000000e+00> : tensor<f32>
// CHECK-DAG: %[[HI:.*]] = ds.constant dense<1.270000e+02> : tensor<f32>
// CHECK: ds.compare ge %{{.*}}, %[[LO]]
// CHECK: ds.compare le %{{.*}}, %[[HI]]
func.func @main(%x: tensor<4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<[0.5, 1.0, 2.0, 9.0]> : tensor<4xf32> loc("w")
  %a = ds.binary mul %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %s = ds.constant dense<0.05> : tensor<1xf32>
  %zp = ds.constant dense<0> : tensor<1xui8>
  %max = ds.constant dense<127> : tensor<ui8>
  %q = ds.quantize %a, %s, %zp {axis = 1 : i64, block_size = 0 : i64, saturate} : (tensor<4xf32>, tensor<1xf32>, tensor<1xui8>) -> tensor<4xui8>
  %c = ds.binary min %q, %max : (tensor<4xui8>, tensor<ui8>) -> tensor<4xui8>
  %dq = ds.dequantize %c, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xui8>, tensor<1xf32>, tensor<1xui8>) -> tensor<4xf32>
  %l = ds.reduce sum %dq {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A one-element 1-D scale is per-tensor whatever `axis` says (ONNX's default
// axis 1 on a rank-1 input).
// CHECK-LABEL: func.func @main(
// CHECK: ds.binary div %{{.*}}, %{{.*}} : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xf32>
func.func @main(%x: tensor<4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<[0.5, 1.0, 2.0, 9.0]> : tensor<4xf32> loc("w")
  %s = ds.constant dense<0.05> : tensor<1xf32>
  %q = ds.quantize %w, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xi8>
  %dq = ds.dequantize %q, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xi8>, tensor<1xf32>) -> tensor<4xf32>
  %m = ds.binary mul %x, %dq : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %l = ds.reduce sum %m {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Float8 fake quantization (saturating): the gradient passes where
// |w / s| is at most f8E4M3FN's largest value, 448; no rounding to integers.
// CHECK-LABEL: func.func @main(
// CHECK-DAG: %[[LO:.*]] = ds.constant dense<-4.480000e+02> : tensor<f32>
// CHECK-DAG: %[[HI:.*]] = ds.constant dense<4.480000e+02> : tensor<f32>
// CHECK: %[[DIV:.*]] = ds.binary div
// CHECK-NOT: ds.unary round
// CHECK: ds.compare ge %[[DIV]], %[[LO]]
// CHECK: ds.compare le %[[DIV]], %[[HI]]
func.func @main(%x: tensor<4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<[0.5, 1.0, 2.0, 90.0]> : tensor<4xf32> loc("w")
  %s = ds.constant dense<0.1> : tensor<f32>
  %q = ds.quantize %w, %s {axis = 1 : i64, block_size = 0 : i64, saturate} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf8E4M3FN>
  %dq = ds.dequantize %q, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf8E4M3FN>, tensor<f32>) -> tensor<4xf32>
  %y = ds.binary mul %x, %dq : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A learned per-channel scale (LSQ): round(w / s) - w / s inside the range,
// the clamped bound minus the zero point outside, times dY, summed over
// everything but the channel axis, back to the scale's shape.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<4x3xf32> {ds.name = "w.grad"}, tensor<3xf32> {ds.name = "s.grad"})
// CHECK: %[[DIV:.*]] = ds.binary div
// CHECK: %[[R:.*]] = ds.unary round %[[DIV]]
// CHECK: %[[T:.*]] = ds.binary add %[[R]]
// CHECK: %[[IN:.*]] = ds.binary and
// CHECK: %[[DW:.*]] = ds.select %[[IN]]
// CHECK: %[[CLAMP:.*]] = ds.binary min
// CHECK: %[[BOUND:.*]] = ds.binary sub %[[CLAMP]]
// CHECK: %[[FRAC:.*]] = ds.binary sub %[[R]], %[[DIV]]
// CHECK: %[[SLOPE:.*]] = ds.select %[[IN]], %[[FRAC]], %[[BOUND]]
// CHECK: %[[PER:.*]] = ds.binary mul %{{.*}}, %[[SLOPE]]
// CHECK: %[[SUM:.*]] = ds.reduce sum %[[PER]] {axes = array<i64: 0>, keepdims = true}
// CHECK: %[[DS:.*]] = ds.reshape %[[SUM]]{{.*}} -> tensor<3xf32>
// CHECK: return %{{.*}}, %[[DW]], %[[DS]]
func.func @main(%x: tensor<2x4xf32> {ds.name = "x"}, %w: tensor<4x3xf32> {ds.name = "w", ds.parameter, ds.default = dense<1.0> : tensor<4x3xf32>}, %s: tensor<3xf32> {ds.name = "s", ds.parameter, ds.default = dense<[0.05, 0.04, 0.03]> : tensor<3xf32>}) -> (tensor<f32> {ds.name = "loss"}) {
  %zp = ds.constant dense<[0, 1, -1]> : tensor<3xi8>
  %q = ds.quantize %w, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xi8>
  %dq = ds.dequantize %q, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xf32>
  %y = ds.matmul %x, %dq : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
