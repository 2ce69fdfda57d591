// RUN: ds-opt %s --ds-compile-pipeline="target=cuda" | FileCheck %s
// The pipeline ds-compile --target=cuda runs: fusion, then one group per
// kernel with the matmul split for cuBLASLt — the IR the emitter sees.
// RUN: ds-opt %s --ds-compile-pipeline="target=cuda" --ds-emit-cuda=output=%t.cu
// RUN: ds-compile %s --target=cuda -o %t.dsx --dump-cuda=%t.dump.cu
// The same source (ds-emit-cuda appends the step list as comments).
// RUN: sed '/^\/\/ ---- steps ----$/,$d' %t.cu | diff - %t.dump.cu

// CHECK: ds.fusion_group contraction
// CHECK: ds.matmul
// CHECK: ds.unary relu
// CHECK: ds.yield
// CHECK: ds.fusion_group elementwise
// CHECK: ds.binary mul
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %c = ds.constant dense<2.0> : tensor<f32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = ds.binary add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = ds.unary relu %1 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = ds.binary mul %2, %c : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  return %3 : tensor<4x16xf32>
}
