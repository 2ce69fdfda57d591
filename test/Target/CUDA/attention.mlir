// Attention groups instantiate the flash-attention template with the
// group's shapes and flags.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// Causal GQA in f16 with a KV-cache offset.
// CHECK-LABEL: struct k0_attention_config {
// CHECK-NEXT: static constexpr int B = 1, HQ = 8, HKV = 2, S = 40, L = 48, D = 64, DV = 64;
// CHECK-NEXT: static constexpr float SCALE = 0.125f, SOFTCAP = 0.0f;
// CHECK-NEXT: static constexpr bool CAUSAL = true;
// CHECK-NEXT: static constexpr int CAUSAL_OFFSET = 8;
// CHECK-NEXT: static constexpr int WINDOW = 0, SINKS = 0;
// CHECK-NEXT: static constexpr int MASK = 0;
// CHECK: k0_attention(const __half *__restrict__ in0, const __half *__restrict__ in1, const __half *__restrict__ in2, __half *__restrict__ out0)
// f16 with head dims that are multiples of 16: the tensor-core (mma.sync)
// variant, 64 query rows per block; shared, in f16 with rows padded to 64 + 8:
// two buffers each of K and V (64 rows each; the Q tile borrows one).
// CHECK: ds_attention::flash_attention_mma<__half, float, k0_attention_config>(in0, in1, in2, (const float *)nullptr, out0);
// CHECK: kernel="k0_attention" grid=array<i64: 1, 8, 1> block=array<i64: 128, 1, 1> shared_bytes=36864
func.func @main(%q: tensor<1x8x40x64xf16>, %k: tensor<1x2x48x64xf16>, %v: tensor<1x2x48x64xf16>) -> tensor<1x8x40x64xf16> {
  %0 = ds.attention %q, %k, %v {is_causal, causal_offset = 8 : i64} : (tensor<1x8x40x64xf16>, tensor<1x2x48x64xf16>, tensor<1x2x48x64xf16>) -> tensor<1x8x40x64xf16>
  return %0 : tensor<1x8x40x64xf16>
}

// -----

// A boolean padding mask [B, 1, 1, L] broadcast over heads and queries (bf16,
// head dim 128).
// CHECK: static constexpr int MASK = 1;
// CHECK-NEXT: static constexpr long long MB = 16, MH = 0, MS = 0, ML = 1;
// CHECK: ds_attention::flash_attention_mma<__nv_bfloat16, bool, k0_attention_config>(in0, in1, in2, in3, out0);
func.func @main(%q: tensor<2x4x16x128xbf16>, %k: tensor<2x4x16x128xbf16>, %v: tensor<2x4x16x128xbf16>, %m: tensor<2x1x1x16xi1>) -> tensor<2x4x16x128xbf16> {
  %0 = ds.attention %q, %k, %v, %m : (tensor<2x4x16x128xbf16>, tensor<2x4x16x128xbf16>, tensor<2x4x16x128xbf16>, tensor<2x1x1x16xi1>) -> tensor<2x4x16x128xbf16>
  return %0 : tensor<2x4x16x128xbf16>
}

// -----

// An additive f32 mask [S, L], explicit scale and softcap.
// CHECK: static constexpr float SCALE = 0.5f, SOFTCAP = 30.0f;
// CHECK: static constexpr int MASK = 2;
// CHECK-NEXT: static constexpr long long MB = 0, MH = 0, MS = 16, ML = 1;
// f32 uses the FMA variant: 16 query rows per block; shared: K tile 32x33,
// V tile 32x32, Q rows 16x32 floats.
// CHECK: ds_attention::flash_attention<float, float, k0_attention_config>(in0, in1, in2, in3, out0);
// CHECK: grid=array<i64: 1, 2, 1> block=array<i64: 128, 1, 1> shared_bytes=10368
func.func @main(%q: tensor<1x2x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %m: tensor<16x16xf32>) -> tensor<1x2x16x32xf32> {
  %0 = ds.attention %q, %k, %v, %m {scale = 0.5 : f64, softcap = 30.0 : f64} : (tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<16x16xf32>) -> tensor<1x2x16x32xf32>
  return %0 : tensor<1x2x16x32xf32>
}

// -----

// A decode step against a cache, sliding window with sinks: the diagonal
// counted from the last key is a fixed offset (L - S = 16) for static shapes.
// CHECK: static constexpr bool CAUSAL = true;
// CHECK-NEXT: static constexpr int CAUSAL_OFFSET = 16;
// CHECK-NEXT: static constexpr int WINDOW = 8, SINKS = 2;
func.func @main(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x20x16xf32>) -> tensor<1x2x4x16xf32> {
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end, window = 8 : i64, sink_tokens = 2 : i64} : (tensor<1x2x4x16xf32>, tensor<1x2x20x16xf32>, tensor<1x2x20x16xf32>) -> tensor<1x2x4x16xf32>
  return %0 : tensor<1x2x4x16xf32>
}
