// RUN: ds-opt %s --ds-model-summary -o /dev/null | FileCheck %s
// The summary counts ops by kind, parameters and intermediate bytes.

// CHECK: === ds model summary: @main ===
// CHECK: inputs:  tensor<1x8xf32>
// CHECK: ops: 5
// CHECK: ds.binary add{{ +}}1
// CHECK: ds.constant{{ +}}2
// CHECK: ds.matmul{{ +}}1
// CHECK: ds.unary relu{{ +}}1
// CHECK: parameters: 36 (144 B)
// CHECK: intermediate tensors: 48 B
func.func @main(%x: tensor<1x8xf32>) -> tensor<1x4xf32> {
  %w = ds.constant dense<1.0> : tensor<8x4xf32>
  %b = ds.constant dense<0.5> : tensor<4xf32>
  %0 = ds.matmul %x, %w : (tensor<1x8xf32>, tensor<8x4xf32>) -> tensor<1x4xf32>
  %1 = ds.binary add %0, %b : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  %2 = ds.unary relu %1 : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %2 : tensor<1x4xf32>
}
