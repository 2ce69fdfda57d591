// RUN: ds-opt %s --ds-promote-parameters | FileCheck %s
// RUN: ds-opt %s --ds-promote-parameters=parameters=bn.running_var | FileCheck %s --check-prefix=NAMED
// A batch norm's running statistics (ds.statistic, set by the importer) stay
// constants: frameworks average them, no one trains them by gradient. Named
// explicitly, they are promoted like any constant.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: ds.name = "bn.weight", ds.parameter}
// CHECK-NOT: ds.name = "bn.running_
// CHECK: ds.constant dense<0.000000e+00> : tensor<4xf32> {ds.statistic}
// CHECK: ds.constant dense<1.000000e+00> : tensor<4xf32> {ds.statistic}
// NAMED-LABEL: func.func @main(
// NAMED-SAME: ds.name = "bn.running_var", ds.parameter}
func.func @main(%x: tensor<2x4xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<2.0> : tensor<4xf32> loc("bn.weight")
  %mean = ds.constant dense<0.0> : tensor<4xf32> {ds.statistic} loc("bn.running_mean")
  %var = ds.constant dense<1.0> : tensor<4xf32> {ds.statistic} loc("bn.running_var")
  %c = ds.binary sub %x, %mean : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %s = ds.binary div %c, %var : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y = ds.binary mul %s, %w : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
