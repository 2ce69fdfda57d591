// RUN: ds-opt %s --ds-cuda-trailing-reductions -split-input-file | FileCheck %s
// Idempotent: a second run changes nothing.
// RUN: ds-opt %s --ds-cuda-trailing-reductions --ds-cuda-trailing-reductions -split-input-file | FileCheck %s

// A reduction over a leading axis: the axis moves last, the reduce is trailing.
// CHECK-LABEL: func.func @leading
// CHECK: %[[T:.*]] = ds.transpose %arg0 {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
// CHECK-NEXT: %[[R:.*]] = ds.reduce sum %[[T]] {axes = array<i64: 1>, keepdims = false} : (tensor<8x4xf32>) -> tensor<8xf32>
// CHECK-NEXT: return %[[R]]
func.func @leading(%x: tensor<4x8xf32>) -> tensor<8xf32> {
  %0 = ds.reduce sum %x {axes = array<i64: 0>, keepdims = false} : (tensor<4x8xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// keepdims: the unit dims go back where they were.
// CHECK-LABEL: func.func @keepdims
// CHECK: %[[T:.*]] = ds.transpose %arg0 {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
// CHECK-NEXT: %[[R:.*]] = ds.reduce max %[[T]] {axes = array<i64: 1, 2>, keepdims = true} : (tensor<3x2x4xf32>) -> tensor<3x1x1xf32>
// CHECK-NEXT: %[[B:.*]] = ds.transpose %[[R]] {perm = array<i64: 1, 0, 2>} : (tensor<3x1x1xf32>) -> tensor<1x3x1xf32>
// CHECK-NEXT: return %[[B]]
func.func @keepdims(%x: tensor<2x3x4xf32>) -> tensor<1x3x1xf32> {
  %0 = ds.reduce max %x {axes = array<i64: 0, 2>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<1x3x1xf32>
  return %0 : tensor<1x3x1xf32>
}

// -----

// Trailing reductions stay as they are.
// CHECK-LABEL: func.func @trailing
// CHECK-NOT: ds.transpose
// CHECK: ds.reduce mean %arg0 {axes = array<i64: 1>, keepdims = true}
// CHECK-NOT: ds.transpose
func.func @trailing(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %0 = ds.reduce mean %x {axes = array<i64: 1>, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// Softmax over a non-innermost axis: there and back; over the last non-unit
// dim it is left alone.
// CHECK-LABEL: func.func @softmax
// CHECK: %[[T:.*]] = ds.transpose %arg0 {perm = array<i64: 1, 2, 0>} : (tensor<4x8x2xf32>) -> tensor<8x2x4xf32>
// CHECK-NEXT: %[[S:.*]] = ds.softmax %[[T]] {axis = 2 : i64, log} : (tensor<8x2x4xf32>) -> tensor<8x2x4xf32>
// CHECK-NEXT: %[[B:.*]] = ds.transpose %[[S]] {perm = array<i64: 2, 0, 1>} : (tensor<8x2x4xf32>) -> tensor<4x8x2xf32>
// CHECK: ds.softmax %arg1 {axis = 1 : i64} : (tensor<4x8x1xf32>)
func.func @softmax(%x: tensor<4x8x2xf32>, %y: tensor<4x8x1xf32>) -> (tensor<4x8x2xf32>, tensor<4x8x1xf32>) {
  %0 = ds.softmax %x {axis = 0 : i64, log} : (tensor<4x8x2xf32>) -> tensor<4x8x2xf32>
  %1 = ds.softmax %y {axis = 1 : i64} : (tensor<4x8x1xf32>) -> tensor<4x8x1xf32>
  return %0, %1 : tensor<4x8x2xf32>, tensor<4x8x1xf32>
}
