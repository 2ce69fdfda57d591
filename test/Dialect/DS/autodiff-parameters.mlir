// RUN: ds-opt %s --ds-autodiff="parameters=w2" | FileCheck %s
// ds-autodiff's `parameters`: only the named initializers become inputs;
// the others stay constants.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: tensor<16x3xf32> {ds.default = {{.*}}, ds.name = "w2", ds.parameter})
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<16x3xf32> {ds.name = "w2.grad"})
// CHECK-DAG: ds.constant dense<1.000000e-01> : tensor<8x16xf32>
// CHECK-DAG: ds.constant dense<0.00999999977> : tensor<16xf32>
func.func @main(%x: tensor<4x8xf32> {ds.name = "x"}, %t: tensor<4x3xf32> {ds.name = "target"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w1 = ds.constant dense<0.1> : tensor<8x16xf32> loc("w1")
  %b1 = ds.constant dense<0.01> : tensor<16xf32> loc("b1")
  %w2 = ds.constant dense<-0.2> : tensor<16x3xf32> loc("w2")
  %h = ds.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %hb = ds.binary add %h, %b1 : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %a = ds.unary tanh %hb : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = ds.matmul %a, %w2 : (tensor<4x16xf32>, tensor<16x3xf32>) -> tensor<4x3xf32>
  %d = ds.binary sub %y, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %sq = ds.binary mul %d, %d : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %l = ds.reduce mean %sq {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

