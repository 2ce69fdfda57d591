// RUN: ds-opt %s --ds-cuda-wrap-ops -split-input-file | FileCheck %s
// Ops outside a fusion group become groups of one, of the kind ds-fuse would
// give them; constants stay outside and existing groups are left alone.

// CHECK-LABEL: func.func @main
// CHECK: %[[C:.*]] = ds.constant
// CHECK: %[[MM:.*]] = ds.fusion_group contraction (%arg0, %arg1)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: ds.matmul
// CHECK-NEXT: ds.yield
// CHECK: %[[SM:.*]] = ds.fusion_group reduction (%[[MM]])
// CHECK: ds.softmax
// CHECK: %[[T:.*]] = ds.fusion_group data_movement (%[[SM]])
// CHECK: ds.transpose
// CHECK: ds.fusion_group elementwise (%[[T]], %[[C]])
// CHECK: ds.binary mul
// CHECK-NOT: ds.fusion_group
// CHECK: return
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<16x4xf32> {
  %c = ds.constant dense<2.0> : tensor<f32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = ds.softmax %0 {axis = -1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %2 = ds.transpose %1 {perm = array<i64: 1, 0>} : (tensor<4x16xf32>) -> tensor<16x4xf32>
  %3 = ds.binary mul %2, %c : (tensor<16x4xf32>, tensor<f32>) -> tensor<16x4xf32>
  return %3 : tensor<16x4xf32>
}

// -----

// Idempotent: a module that is all groups (and constants) does not change.
// CHECK-LABEL: func.func @main
// CHECK-COUNT-1: ds.fusion_group
// CHECK-NOT: ds.fusion_group
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %1 = ds.unary relu %a : (tensor<4xf32>) -> tensor<4xf32>
    %2 = ds.unary neg %1 : (tensor<4xf32>) -> tensor<4xf32>
    ds.yield %2 : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}
