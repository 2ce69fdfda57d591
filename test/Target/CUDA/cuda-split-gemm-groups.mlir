// RUN: ds-opt %s --ds-cuda-split-gemm-groups -split-input-file | FileCheck %s
// A matmul group keeps the matmul and the epilogue cuBLASLt applies (row
// bias, then relu); the rest moves into an elementwise group after it.

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = ds.fusion_group contraction (%arg0, %arg1, %arg2)
// CHECK: ds.matmul
// CHECK-NEXT: ds.binary add
// CHECK-NEXT: ds.unary relu
// CHECK-NEXT: ds.yield
// CHECK: %[[R:.*]] = ds.fusion_group elementwise (%[[G]])
// CHECK: ds.constant
// CHECK: ds.binary mul
// CHECK: return %[[R]]
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %0 = ds.fusion_group contraction (%x, %w, %b) : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x16xf32> {
  ^bb0(%a: tensor<4x8xf32>, %bw: tensor<8x16xf32>, %bb: tensor<16xf32>):
    %c = ds.constant dense<2.0> : tensor<f32>
    %1 = ds.matmul %a, %bw : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %2 = ds.binary add %1, %bb : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    %3 = ds.unary relu %2 : (tensor<4x16xf32>) -> tensor<4x16xf32>
    %4 = ds.binary mul %3, %c : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
    ds.yield %4 : tensor<4x16xf32>
  }
  return %0 : tensor<4x16xf32>
}

// -----

// Already a cuBLASLt step: left alone.
// CHECK-LABEL: func.func @main
// CHECK-COUNT-1: ds.fusion_group
// CHECK-NOT: ds.fusion_group
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %0 = ds.fusion_group contraction (%x, %w) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32> {
  ^bb0(%a: tensor<4x8xf32>, %bw: tensor<8x16xf32>):
    %1 = ds.matmul %a, %bw : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    ds.yield %1 : tensor<4x16xf32>
  }
  return %0 : tensor<4x16xf32>
}
