// RUN: ds-opt %s --ds-promote-parameters --canonicalize --cse --ds-autodiff | FileCheck %s
// RUN: ds-opt %s --canonicalize --cse --ds-autodiff | FileCheck %s --check-prefix=MERGED
// ds-promote-parameters: parameters become arguments before CSE can merge
// equal initializers (two fresh LayerNorm weights are both all ones), so
// each trains on its own.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: ds.name = "ln1.weight", ds.parameter}
// CHECK-SAME: ds.name = "ln2.weight", ds.parameter}
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8xf32> {ds.name = "ln1.weight.grad"}, tensor<8xf32> {ds.name = "ln2.weight.grad"})
// Without it, CSE keeps one of the two constants: one parameter, unnamed.
// MERGED-LABEL: func.func @main(
// MERGED-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8xf32> {ds.name = "{{.*}}.grad"})
func.func @main(%x: tensor<4x8xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %g1 = ds.constant dense<1.0> : tensor<8xf32> loc("ln1.weight")
  %g2 = ds.constant dense<1.0> : tensor<8xf32> loc("ln2.weight")
  %n1 = ds.norm rms %x, %g1 {axis = 1 : i64, epsilon = 1.0e-5 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %n2 = ds.norm rms %n1, %g2 {axis = 1 : i64, epsilon = 1.0e-5 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %l = ds.reduce sum %n2 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
