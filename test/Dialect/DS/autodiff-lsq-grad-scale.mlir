// RUN: ds-opt %s --split-input-file --ds-autodiff="parameters=w,s lsq-grad-scale=true" --canonicalize --cse | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-autodiff="parameters=w,s" --canonicalize --cse | FileCheck %s --check-prefix=PLAIN
// ds-autodiff's lsq-grad-scale: the gradient of a learned step size is
// multiplied by 1/sqrt(N * Qp) (LSQ), N the elements per scale value and Qp
// the range's largest integer; without the option it is not.

// Per channel on int8 weights: 4 values per scale, Qp 127, 1/sqrt(508).
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<4x3xf32> {ds.name = "w.grad"}, tensor<3xf32> {ds.name = "s.grad"})
// CHECK-DAG: %[[G:.*]] = ds.constant dense<0.0443678237> : tensor<f32>
// CHECK: %[[SUM:.*]] = ds.reduce sum %{{.*}} {axes = array<i64: 0>, keepdims = true} : (tensor<4x3xf32>) -> tensor<1x3xf32>
// CHECK: %[[DS:.*]] = ds.reshape %[[SUM]]
// CHECK: %[[SCALED:.*]] = ds.binary mul %[[DS]], %[[G]] : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[SCALED]]
// PLAIN-LABEL: func.func @main(
// PLAIN-NOT: 0.0443678237
// PLAIN: %[[SUM:.*]] = ds.reduce sum %{{.*}} {axes = array<i64: 0>, keepdims = true} : (tensor<4x3xf32>) -> tensor<1x3xf32>
// PLAIN: %[[DS:.*]] = ds.reshape %[[SUM]]
// PLAIN: return %{{.*}}, %{{.*}}, %[[DS]]
func.func @main(%x: tensor<2x4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<[[0.1, -0.2, 7.0], [0.3, -8.0, 0.05], [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]]> : tensor<4x3xf32> loc("w")
  %s = ds.constant dense<[0.05, 0.04, 0.03]> : tensor<3xf32> loc("s")
  %zp = ds.constant dense<[0, 1, -1]> : tensor<3xi8>
  %q = ds.quantize %w, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xi8>
  %dq = ds.dequantize %q, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xf32>
  %y = ds.matmul %x, %dq : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Per tensor on a uint8 activation clamped to [0, 127] (PyTorch's export of
// quant_max 127): 8 values, Qp 127, 1/sqrt(1016).
// CHECK-LABEL: func.func @main(
// CHECK: ds.constant dense<0.0313727893> : tensor<f32>
// CHECK: ds.binary mul %{{.*}}, %{{.*}} : (tensor<1xf32>, tensor<f32>) -> tensor<1xf32>
func.func @main(%x: tensor<2x4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<[0.5, 1.0, 2.0, 9.0]> : tensor<4xf32> loc("w")
  %a = ds.binary mul %x, %w : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %s = ds.constant dense<0.05> : tensor<1xf32> loc("s")
  %zp = ds.constant dense<0> : tensor<1xui8>
  %max = ds.constant dense<127> : tensor<ui8>
  %q = ds.quantize %a, %s, %zp {axis = 1 : i64, block_size = 0 : i64, saturate} : (tensor<2x4xf32>, tensor<1xf32>, tensor<1xui8>) -> tensor<2x4xui8>
  %c = ds.binary min %q, %max : (tensor<2x4xui8>, tensor<ui8>) -> tensor<2x4xui8>
  %dq = ds.dequantize %c, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xui8>, tensor<1xf32>, tensor<1xui8>) -> tensor<2x4xf32>
  %l = ds.reduce sum %dq {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
