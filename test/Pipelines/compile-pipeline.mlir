// RUN: ds-opt %s --ds-compile-pipeline | FileCheck %s
// ds-opt reproduces the passes ds-compile runs: folding, then CSE, then the
// fusion groups both backends execute.

// CHECK-LABEL: func @main
// CHECK-NEXT: %[[G:.*]] = ds.fusion_group elementwise (%arg0)
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<4xf32>):
// CHECK-NEXT:   %[[A:.*]] = ds.unary exp %[[X]]
// CHECK-NEXT:   %[[B:.*]] = ds.binary add %[[A]], %[[A]]
// CHECK-NEXT:   ds.yield %[[B]]
// CHECK:      return %[[G]]
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = ds.shape %x {end = 1 : i64, start = 0 : i64} : (tensor<4xf32>) -> tensor<1xi64>
  %r = ds.reshape %x, %s : (tensor<4xf32>, tensor<1xi64>) -> tensor<4xf32>
  %0 = ds.unary exp %r : (tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.unary exp %x : (tensor<4xf32>) -> tensor<4xf32>
  %2 = ds.binary add %0, %1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %2 : tensor<4xf32>
}
