// RUN: ds-opt %s --ds-cuda-expand-gemm-batch -split-input-file | FileCheck %s

// Batch dims 3x1 and 1x2 against the result's 3x2: both operands expanded.
// CHECK-LABEL: func.func @partial
// CHECK-DAG: %[[SA:.*]] = ds.constant dense<[3, 2, 3, 4]> : tensor<4xi64>
// CHECK-DAG: %[[A:.*]] = ds.expand %arg0, %[[SA]] : (tensor<3x1x3x4xf32>, tensor<4xi64>) -> tensor<3x2x3x4xf32>
// CHECK-DAG: %[[SB:.*]] = ds.constant dense<[3, 2, 4, 2]> : tensor<4xi64>
// CHECK-DAG: %[[B:.*]] = ds.expand %arg1, %[[SB]] : (tensor<1x2x4x2xf32>, tensor<4xi64>) -> tensor<3x2x4x2xf32>
// CHECK: ds.matmul %[[A]], %[[B]] : (tensor<3x2x3x4xf32>, tensor<3x2x4x2xf32>) -> tensor<3x2x3x2xf32>
func.func @partial(%a: tensor<3x1x3x4xf32>, %b: tensor<1x2x4x2xf32>) -> tensor<3x2x3x2xf32> {
  %0 = ds.matmul %a, %b : (tensor<3x1x3x4xf32>, tensor<1x2x4x2xf32>) -> tensor<3x2x3x2xf32>
  return %0 : tensor<3x2x3x2xf32>
}

// -----

// Fewer batch dims than the result (2 against 5x2): expanded; a matrix
// shared by every batch is not.
// CHECK-LABEL: func.func @fewer
// CHECK: %[[A:.*]] = ds.expand %arg0, %{{.*}} : (tensor<2x3x4xf32>, tensor<4xi64>) -> tensor<5x2x3x4xf32>
// CHECK: ds.matmul %[[A]], %arg1 : (tensor<5x2x3x4xf32>, tensor<5x2x4x6xf32>)
// CHECK: ds.matmul %arg2, %arg1 : (tensor<3x4xf32>, tensor<5x2x4x6xf32>)
func.func @fewer(%a: tensor<2x3x4xf32>, %b: tensor<5x2x4x6xf32>, %c: tensor<3x4xf32>)
    -> (tensor<5x2x3x6xf32>, tensor<5x2x3x6xf32>) {
  %0 = ds.matmul %a, %b : (tensor<2x3x4xf32>, tensor<5x2x4x6xf32>) -> tensor<5x2x3x6xf32>
  %1 = ds.matmul %c, %b : (tensor<3x4xf32>, tensor<5x2x4x6xf32>) -> tensor<5x2x3x6xf32>
  return %0, %1 : tensor<5x2x3x6xf32>, tensor<5x2x3x6xf32>
}

// -----

// Batched like the result, all-ones batch dims, a vector operand and
// dynamic dims: unchanged.
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT: ds.expand
func.func @unchanged(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>, %c: tensor<1x1x4x5xf32>,
                     %v: tensor<4xf32>, %d: tensor<?x3x4xf32>, %e: tensor<1x4x5xf32>)
    -> (tensor<2x3x5xf32>, tensor<1x2x3x5xf32>, tensor<2x3xf32>, tensor<?x3x5xf32>) {
  %0 = ds.matmul %a, %b : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %1 = ds.matmul %a, %c : (tensor<2x3x4xf32>, tensor<1x1x4x5xf32>) -> tensor<1x2x3x5xf32>
  %2 = ds.matmul %a, %v : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  %3 = ds.matmul %d, %e : (tensor<?x3x4xf32>, tensor<1x4x5xf32>) -> tensor<?x3x5xf32>
  return %0, %1, %2, %3 : tensor<2x3x5xf32>, tensor<1x2x3x5xf32>, tensor<2x3xf32>, tensor<?x3x5xf32>
}
