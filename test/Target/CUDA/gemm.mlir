// Matmul groups become cuda.gemm steps; the cuBLASLt epilogue takes a row
// bias and relu / gelu, anything else runs as a following elementwise kernel.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// Bias + relu map onto the epilogue: one step, no kernel.
// CHECK-NOT: extern "C" __global__
// CHECK: ---- steps ----
// CHECK-NEXT: cuda.gemm (%0: tensor<8x32xf16>, %1: tensor<32x64xf16>, %2: tensor<64xf16>, absent) -> (%3: tensor<8x64xf16>) m=8 : i64 n=64 : i64 k=32 : i64 batch=1 : i64 trans_a=0 : i64 trans_b=0 : i64 stride_a=256 : i64 stride_b=2048 : i64 stride_d=512 : i64 alpha=1.000000e+00 : f64 beta=0.000000e+00 : f64 epilogue="bias_relu"
// CHECK-NOT: cuda.
func.func @main(%a: tensor<8x32xf16>, %b: tensor<32x64xf16>, %bias: tensor<64xf16>) -> tensor<8x64xf16> {
  %r = ds.fusion_group contraction (%a, %b, %bias) : (tensor<8x32xf16>, tensor<32x64xf16>, tensor<64xf16>) -> tensor<8x64xf16> {
  ^bb0(%x: tensor<8x32xf16>, %y: tensor<32x64xf16>, %z: tensor<64xf16>):
    %m = ds.matmul %x, %y : (tensor<8x32xf16>, tensor<32x64xf16>) -> tensor<8x64xf16>
    %s = ds.binary add %m, %z : (tensor<8x64xf16>, tensor<64xf16>) -> tensor<8x64xf16>
    %t = ds.unary relu %s : (tensor<8x64xf16>) -> tensor<8x64xf16>
    ds.yield %t : tensor<8x64xf16>
  }
  return %r : tensor<8x64xf16>
}

// -----

// Bias, then a residual add and a scale: the gemm takes the bias and the
// residual (as C with beta = 1), an elementwise kernel the scale.
// CHECK-LABEL: k1_elementwise(const float *__restrict__ in0, float *__restrict__ out0)
// CHECK: ---- steps ----
// CHECK-NEXT: cuda.gemm (%0: tensor<2x8x4xf32>, %1: tensor<4x16xf32>, %2: tensor<16xf32>, %3: tensor<2x8x16xf32>) -> (%[[D:[0-9]+]]: tensor<2x8x16xf32>) m=8 : i64 n=16 : i64 k=4 : i64 batch=2 : i64 {{.*}} stride_a=32 : i64 stride_b=0 : i64 stride_d=128 : i64 alpha=1.000000e+00 : f64 beta=1.000000e+00 : f64 epilogue="bias"
// CHECK-NEXT: cuda.launch (%[[D]]: tensor<2x8x16xf32>) -> (%{{[0-9]+}}: tensor<2x8x16xf32>) kernel="k1_elementwise"
func.func @main(%a: tensor<2x8x4xf32>, %b: tensor<4x16xf32>, %bias: tensor<16xf32>, %res: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %r = ds.fusion_group contraction (%a, %b, %bias, %res) : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  ^bb0(%x: tensor<2x8x4xf32>, %y: tensor<4x16xf32>, %z: tensor<16xf32>, %w: tensor<2x8x16xf32>):
    %m = ds.matmul %x, %y : (tensor<2x8x4xf32>, tensor<4x16xf32>) -> tensor<2x8x16xf32>
    %s = ds.binary add %m, %z : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
    %t = ds.binary add %s, %w : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    %c = ds.constant dense<0.5> : tensor<f32>
    %u = ds.binary mul %t, %c : (tensor<2x8x16xf32>, tensor<f32>) -> tensor<2x8x16xf32>
    ds.yield %u : tensor<2x8x16xf32>
  }
  return %r : tensor<2x8x16xf32>
}

// -----

// Batched attention-style products: both operands batched.
// CHECK: cuda.gemm {{.*}} m=16 : i64 n=16 : i64 k=8 : i64 batch=4 : i64 {{.*}} stride_a=128 : i64 stride_b=128 : i64 stride_d=256 : i64 {{.*}} epilogue="none"
func.func @main(%q: tensor<1x4x16x8xbf16>, %k: tensor<1x4x8x16xbf16>) -> tensor<1x4x16x16xbf16> {
  %0 = ds.matmul %q, %k : (tensor<1x4x16x8xbf16>, tensor<1x4x8x16xbf16>) -> tensor<1x4x16x16xbf16>
  return %0 : tensor<1x4x16x16xbf16>
}

// -----

// cuBLASLt's GELU is the tanh approximation: gelu_tanh maps onto it, the erf
// gelu stays an elementwise kernel.
// CHECK: cuda.gemm {{.*}} epilogue="bias_gelu"
// CHECK: cuda.gemm {{.*}} epilogue="bias"
// CHECK-NEXT: cuda.launch {{.*}} kernel="k{{[0-9]+}}_elementwise"
func.func @main(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %bias: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %r = ds.fusion_group contraction (%a, %b, %bias) : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x16xf32> {
  ^bb0(%x: tensor<4x8xf32>, %y: tensor<8x16xf32>, %z: tensor<16xf32>):
    %m = ds.matmul %x, %y : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %s = ds.binary add %m, %z : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    %t = ds.unary gelu_tanh %s : (tensor<4x16xf32>) -> tensor<4x16xf32>
    ds.yield %t : tensor<4x16xf32>
  }
  %r2 = ds.fusion_group contraction (%a, %b, %bias) : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x16xf32> {
  ^bb0(%x: tensor<4x8xf32>, %y: tensor<8x16xf32>, %z: tensor<16xf32>):
    %m = ds.matmul %x, %y : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %s = ds.binary add %m, %z : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    %t = ds.unary gelu %s : (tensor<4x16xf32>) -> tensor<4x16xf32>
    ds.yield %t : tensor<4x16xf32>
  }
  return %r, %r2 : tensor<4x16xf32>, tensor<4x16xf32>
}
