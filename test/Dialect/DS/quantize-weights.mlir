// RUN: ds-opt %s --split-input-file --ds-quantize-weights | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-quantize-weights="bits=4 block-size=2" | FileCheck %s --check-prefix=INT4
// RUN: ds-opt %s --split-input-file --ds-quantize-weights="exclude-nodes=fc min-weights=0" | FileCheck %s --check-prefix=EXCLUDED
// RUN: ds-opt %s --split-input-file --ds-quantize-weights="bits=4 block-size=2" --ds-fold-weight-dequantize | FileCheck %s --check-prefix=FOLD
// RUN: not ds-opt %s --ds-quantize-weights="bits=3" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not ds-opt %s --ds-quantize-weights="block-size=-2" 2>&1 | FileCheck %s --check-prefix=BLOCK
// BITS: error: ds-quantize-weights: bits must be 8 or 4, got 3
// BLOCK: error: ds-quantize-weights: block-size must be at least 0 (0: one scale per column)

// int8, one scale per column: max |w| / 127 (column 0: 2 / 127, column 1:
// 4 / 127), codes rounded to nearest; the f32 weight is gone.
// CHECK-LABEL: func @mlp
// CHECK-DAG:   %[[Q:.*]] = ds.constant dense<{{\[}}[64, 32], [127, -127], [-32, 95]]> : tensor<3x2xi8>
// CHECK-DAG:   %[[S:.*]] = ds.constant dense<[0.0157480314, 0.0314960629]> : tensor<2xf32>
// CHECK:       %[[W:.*]] = ds.dequantize %[[Q]], %[[S]] {axis = 1 : i64, block_size = 0 : i64} : (tensor<3x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK:       ds.matmul %arg0, %[[W]]
// CHECK-NOT:   tensor<3x2xf32> = ds.constant
// int4 in blocks of 2 rows: rows 0-1 and row 2 (a short last block), codes
// in [-7, 7] (1 / (2 / 7) is 3.4999999 in f32: 3).
// INT4-LABEL: func @mlp
// INT4-DAG:   ds.constant dense<{{\[}}[3, 2], [7, -7], [-7, 7]]> : tensor<3x2xi4>
// INT4-DAG:   ds.constant dense<{{\[}}[0.285714298, 0.571428597], [0.0714285746, 0.428571433]]> : tensor<2x2xf32>
// INT4:       ds.dequantize {{.*}} {axis = 0 : i64, block_size = 2 : i64} : (tensor<3x2xi4>, tensor<2x2xf32>) -> tensor<3x2xf32>
// EXCLUDED-LABEL: func @mlp
// EXCLUDED-NOT:   ds.dequantize
// EXCLUDED:       return
// FOLD-LABEL: func @mlp
// FOLD:       ds.matmul_quantized_weight %arg0, {{.*}} {block_size = 2 : i64} : (tensor<4x3xf32>, tensor<3x2xi4>, tensor<2x2xf32>) -> tensor<4x2xf32>
// FOLD-NOT:   ds.dequantize
func.func @mlp(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = ds.constant dense<[[1.0, 1.0], [2.0, -4.0], [-0.5, 3.0]]> : tensor<3x2xf32>
  %0 = ds.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32> loc("fc")
  return %0 : tensor<4x2xf32>
}

// -----

// A weight holding NaN or an infinity stays f32 (no code stands for it),
// and so does an empty one.
// CHECK-LABEL: func @not_representable
// CHECK-NOT:   ds.dequantize
// CHECK:       return
func.func @not_representable(%x: tensor<2x3xf32>, %e: tensor<2x0xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = ds.constant dense<[[1.0, 0x7FC00000], [2.0, 3.0], [0.5, 1.0]]> : tensor<3x2xf32>
  %z = ds.constant dense<1.0> : tensor<0x2xf32>
  %0 = ds.matmul %x, %w : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %1 = ds.matmul %e, %z : (tensor<2x0xf32>, tensor<0x2xf32>) -> tensor<2x2xf32>
  return %0, %1 : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// A Gemm's transposed weight ([N, K] read through a transpose) is quantized
// as [K, N]; the transpose and the f32 weight go. Two activations' product
// stays f32.
// CHECK-LABEL: func @transposed
// CHECK:       ds.constant {{.*}} : tensor<3x2xi8>
// CHECK-NOT:   ds.transpose
// CHECK:       ds.matmul %arg0, %{{.*}} : (tensor<4x3xf32>, tensor<3x2xf32>)
// CHECK:       ds.matmul %arg1, %arg2 : (tensor<4x3xf32>, tensor<3x5xf32>)
func.func @transposed(%x: tensor<4x3xf32>, %a: tensor<4x3xf32>, %b: tensor<3x5xf32>) -> (tensor<4x2xf32>, tensor<4x5xf32>) {
  %w = ds.constant dense<[[1.0, 2.0, -0.5], [1.0, -4.0, 3.0]]> : tensor<2x3xf32>
  %t = ds.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %0 = ds.matmul %x, %t : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %1 = ds.matmul %a, %b : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  return %0, %1 : tensor<4x2xf32>, tensor<4x5xf32>
}
