// RUN: ds-opt %s --ds-cuda-split-gemm-groups -split-input-file -verify-diagnostics
// cuBLASLt reads both operands from memory and runs one matmul per call.

func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %0 = ds.fusion_group contraction (%x, %w) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32> {
  ^bb0(%a: tensor<4x8xf32>, %bw: tensor<8x16xf32>):
    %n = ds.unary neg %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
    // expected-error @+1 {{cuda: matmul with fused producers is not supported (cuBLASLt reads its operands from memory)}}
    %1 = ds.matmul %n, %bw : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    ds.yield %1 : tensor<4x16xf32>
  }
  return %0 : tensor<4x16xf32>
}

// -----

func.func @main(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{cuda: a contraction group with more than one matmul}}
  %0 = ds.fusion_group contraction (%x, %w) : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> {
  ^bb0(%a: tensor<4x4xf32>, %bw: tensor<4x4xf32>):
    %1 = ds.matmul %a, %bw : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    %2 = ds.matmul %1, %bw : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    ds.yield %2 : tensor<4x4xf32>
  }
  return %0 : tensor<4x4xf32>
}
