// Attention groups instantiate the flash-attention template with the
// group's head counts, head dims and flags; sizes are a value passed in
// (numbers here, launch parameters in a dynamic program: the last case).
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// Causal GQA in f16 with a KV-cache offset.
// CHECK-LABEL: struct k0_attention_config {
// CHECK-NEXT: static constexpr int HQ = 8, HKV = 2, D = 64, DV = 64;
// CHECK-NEXT: static constexpr float SCALE = 0.125f, SOFTCAP = 0.0f;
// CHECK-NEXT: static constexpr bool CAUSAL = true;
// CHECK-NEXT: static constexpr int WINDOW = 0, SINKS = 0;
// CHECK-NEXT: static constexpr int MASK = 0;
// CHECK-NEXT: static constexpr int LAYOUT_BLOCK = 0, LAYOUT_HEADS = 1;
// CHECK-NEXT: static constexpr bool LAYOUT_SPLAT = false;
// CHECK-NEXT: int S, L, CAUSAL_OFFSET;
// CHECK: k0_attention(const __half *__restrict__ in0, const __half *__restrict__ in1, const __half *__restrict__ in2, __half *__restrict__ out0)
// CHECK: const k0_attention_config cfg{(int)40, (int)48, (int)8, 0, 0, 0, 0, (const bool *)nullptr};
// f16 with head dims that are multiples of 16: the tensor-core (mma.sync)
// variant, 64 query rows per block; shared, in f16 with rows padded to 64 + 8:
// two buffers each of K and V (64 rows each; the Q tile borrows one).
// CHECK: ds_attention::flash_attention_mma<__half, float, k0_attention_config>(in0, in1, in2, (const float *)nullptr, out0, cfg);
// CHECK: kernel="k0_attention" grid=array<i64: 1, 8, 1> block=array<i64: 128, 1, 1> shared_bytes=36864
func.func @main(%q: tensor<1x8x40x64xf16>, %k: tensor<1x2x48x64xf16>, %v: tensor<1x2x48x64xf16>) -> tensor<1x8x40x64xf16> {
  %0 = ds.attention %q, %k, %v {is_causal, causal_offset = 8 : i64} : (tensor<1x8x40x64xf16>, tensor<1x2x48x64xf16>, tensor<1x2x48x64xf16>) -> tensor<1x8x40x64xf16>
  return %0 : tensor<1x8x40x64xf16>
}

// -----

// A boolean padding mask [B, 1, 1, L] broadcast over heads and queries (bf16,
// head dim 128).
// CHECK: static constexpr int MASK = 1;
// CHECK: cfg{(int)16, (int)16, (int)0, 16, 0, 0, 1, (const bool *)nullptr};
// CHECK: ds_attention::flash_attention_mma<__nv_bfloat16, bool, k0_attention_config>(in0, in1, in2, in3, out0, cfg);
func.func @main(%q: tensor<2x4x16x128xbf16>, %k: tensor<2x4x16x128xbf16>, %v: tensor<2x4x16x128xbf16>, %m: tensor<2x1x1x16xi1>) -> tensor<2x4x16x128xbf16> {
  %0 = ds.attention %q, %k, %v, %m : (tensor<2x4x16x128xbf16>, tensor<2x4x16x128xbf16>, tensor<2x4x16x128xbf16>, tensor<2x1x1x16xi1>) -> tensor<2x4x16x128xbf16>
  return %0 : tensor<2x4x16x128xbf16>
}

// -----

// An additive f32 mask [S, L], explicit scale and softcap.
// CHECK: static constexpr float SCALE = 0.5f, SOFTCAP = 30.0f;
// CHECK: static constexpr int MASK = 2;
// CHECK: cfg{(int)16, (int)16, (int)0, 0, 0, 16, 1, (const bool *)nullptr};
// f32 uses the FMA variant: 16 query rows per block; shared: K tile 32x33,
// V tile 32x32, Q rows 16x32 floats.
// CHECK: ds_attention::flash_attention<float, float, k0_attention_config>(in0, in1, in2, in3, out0, cfg);
// CHECK: grid=array<i64: 1, 2, 1> block=array<i64: 128, 1, 1> shared_bytes=10372
func.func @main(%q: tensor<1x2x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>, %m: tensor<16x16xf32>) -> tensor<1x2x16x32xf32> {
  %0 = ds.attention %q, %k, %v, %m {scale = 0.5 : f64, softcap = 30.0 : f64} : (tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<16x16xf32>) -> tensor<1x2x16x32xf32>
  return %0 : tensor<1x2x16x32xf32>
}

// -----

// A decode step against a cache, sliding window with sinks: the diagonal
// counted from the last key is a fixed offset (L - S = 16) for static shapes.
// CHECK: static constexpr bool CAUSAL = true;
// CHECK-NEXT: static constexpr int WINDOW = 8, SINKS = 2;
// CHECK: cfg{(int)4, (int)20, (int)16, 0, 0, 0, 0, (const bool *)nullptr};
func.func @main(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x20x16xf32>) -> tensor<1x2x4x16xf32> {
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end, window = 8 : i64, sink_tokens = 2 : i64} : (tensor<1x2x4x16xf32>, tensor<1x2x20x16xf32>, tensor<1x2x20x16xf32>) -> tensor<1x2x4x16xf32>
  return %0 : tensor<1x2x4x16xf32>
}

// -----

// A window and a sink count past int: the kernels compare int positions, and
// 2^31 - 1 hides no key more (every position is below it).
// CHECK: static constexpr int WINDOW = 2147483647, SINKS = 2147483647;
func.func @main(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x20x16xf32>) -> tensor<1x2x4x16xf32> {
  %0 = ds.attention %q, %k, %k {is_causal, window = 5000000000 : i64, sink_tokens = 9000000000 : i64} : (tensor<1x2x4x16xf32>, tensor<1x2x20x16xf32>, tensor<1x2x20x16xf32>) -> tensor<1x2x4x16xf32>
  return %0 : tensor<1x2x4x16xf32>
}

// -----

// Dynamic sizes (a decode step: queries and cache length bound per run):
// the kernel takes them as trailing parameters, the diagonal from the end is
// "keys - queries" at run time, the grid's query blocks and batch are size
// programs (dsx_size_op pairs) the runtime evaluates: grid x = ceil(1 * (0 +
// s1) / 16) is "0: 7 pairs: const 1, const 0, symbol 1, add, mul, const 16,
// ceildiv", grid z the batch s0.
// CHECK: k0_attention(const float *__restrict__ in0, const float *__restrict__ in2, float *__restrict__ out0, const long long s0, const long long s1, const long long s2)
// CHECK: const k0_attention_config cfg{(int)s1, (int)s2, (int)(-1 * s1 + s2), 0, 0, 0, 0, (const bool *)nullptr};
// CHECK: grid=array<i64: 1, 2, 1>
// CHECK-SAME: dynamic_fields=array<i64: 0, 7, 0, 1, 0, 0, 1, 1, 2, 0, 3, 0, 0, 16, 4, 0, 2, 5, 0, 1, 0, 0, 1, 0, 2, 0, 3, 0>
// CHECK-SAME: dynamic_dims=array<i64: 0, 0, 5, 0, 1, 0, 0, 1, 0, 2, 0, 3, 0, 0, 2, 5, 0, 1, 0, 0, 1, 1, 2, 0, 3, 0>
func.func @main(%q: tensor<?x2x?x16xf32> {ds.dim_symbols = ["batch", "", "queries", ""]}, %k: tensor<?x2x?x16xf32> {ds.dim_symbols = ["batch", "", "keys", ""]}) -> tensor<?x2x?x16xf32> {
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end} : (tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32>
  return %0 : tensor<?x2x?x16xf32>
}

// -----

// A constant mask cloned into the group (a score_mod bias): a one-element
// table read with every stride 0.
// CHECK: struct k0_attention_config
// CHECK: static __device__ const float k0_attention_table0[1] = {0.5f};
// CHECK: k0_attention(const float *__restrict__ in0, const float *__restrict__ in1, const float *__restrict__ in2, float *__restrict__ out0)
// CHECK: const k0_attention_config cfg{(int)40, (int)40, (int)0, 0, 0, 0, 0, (const bool *)nullptr};
// CHECK: flash_attention<float, float, k0_attention_config>(in0, in1, in2, k0_attention_table0, out0, cfg);
func.func @main(%q: tensor<1x2x40x16xf32>, %k: tensor<1x2x40x16xf32>, %v: tensor<1x2x40x16xf32>) -> tensor<1x2x40x16xf32> {
  %r = ds.fusion_group attention (%q, %k, %v) : (tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>) -> tensor<1x2x40x16xf32> {
  ^bb0(%a: tensor<1x2x40x16xf32>, %b: tensor<1x2x40x16xf32>, %c: tensor<1x2x40x16xf32>):
    %m = ds.constant dense<5.000000e-01> : tensor<f32>
    %0 = ds.attention %a, %b, %c, %m : (tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>, tensor<f32>) -> tensor<1x2x40x16xf32>
    ds.yield %0 : tensor<1x2x40x16xf32>
  }
  return %r : tensor<1x2x40x16xf32>
}

// -----

// Sparse attention over top-k lists: one warp per query, four per block
// (grid: ceil(70 / 4) x heads x batch); shared per warp 32 key rows of
// D + 1 floats, the query and the list padded to a power of two (40 -> 64):
// 4 x (32 x 65 + 64 + 64) x 4 bytes.
// CHECK: struct k0_attention_config {
// CHECK-NEXT: static constexpr int HQ = 4, HKV = 2, HI = 1, D = 64, DV = 32;
// CHECK-NEXT: static constexpr int K = 40, KPAD = 64;
// CHECK-NEXT: static constexpr bool IDX_SPLAT = false;
// CHECK-NEXT: static constexpr float SCALE = 0.125f;
// CHECK-NEXT: static constexpr bool CAUSAL = true;
// CHECK: const k0_attention_config cfg{(int)70, (int)100, (int)30};
// CHECK: ds_attention::flash_attention_gather<float, k0_attention_config>(in0, in1, in2, in3, out0, cfg);
// CHECK: kernel="k0_attention" grid=array<i64: 18, 4, 2> block=array<i64: 128, 1, 1> shared_bytes=35328
func.func @main(%q: tensor<2x4x70x64xf32>, %k: tensor<2x2x100x64xf32>, %v: tensor<2x2x100x32xf32>, %i: tensor<2x1x70x40xi64>) -> tensor<2x4x70x32xf32> {
  %0 = ds.sparse_attention %q, %k, %v, %i {is_causal, causal_from_end} : (tensor<2x4x70x64xf32>, tensor<2x2x100x64xf32>, tensor<2x2x100x32xf32>, tensor<2x1x70x40xi64>) -> tensor<2x4x70x32xf32>
  return %0 : tensor<2x4x70x32xf32>
}

// -----

// A block layout in f16 at head dims the tensor cores take: the tensor-core
// kernel, the layout as the fifth parameter, an int of shared memory per
// 64-key tile after the K / V buffers (kept flags, then the list in their
// place) and the count: (2 x 64 x 72 + 2 x 64 x 72) x 2 + (1 + 1) x 4.
// CHECK: struct k0_attention_config {
// CHECK: static constexpr int LAYOUT_BLOCK = 16, LAYOUT_HEADS = 2;
// CHECK-NEXT: static constexpr bool LAYOUT_SPLAT = false;
// CHECK: const k0_attention_config cfg{(int)64, (int)64, (int)0, 0, 0, 0, 0, in3};
// CHECK: ds_attention::flash_attention_mma<__half, float, k0_attention_config>(in0, in1, in2, (const float *)nullptr, out0, cfg);
// CHECK: shared_bytes=36872
func.func @main(%q: tensor<1x2x64x64xf16>, %k: tensor<1x2x64x64xf16>, %v: tensor<1x2x64x64xf16>, %l: tensor<2x4x4xi1>) -> tensor<1x2x64x64xf16> {
  %0 = ds.block_sparse_attention %q, %k, %v, %l {block_size = 16 : i64, is_causal} : (tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<2x4x4xi1>) -> tensor<1x2x64x64xf16>
  return %0 : tensor<1x2x64x64xf16>
}

// -----

// A layout over 2^22 keys: its tile list would not fit a block's shared
// memory, so f16 takes the FMA kernel (whose shared memory does not grow
// with L); the same with a key length known only at run time.
// CHECK: ds_attention::flash_attention<__half, float, k0_attention_config>(
func.func @main(%q: tensor<1x1x64x64xf16>, %k: tensor<1x1x4194304x64xf16>, %l: tensor<1x1x4096xi1>) -> tensor<1x1x64x64xf16> {
  %0 = ds.block_sparse_attention %q, %k, %k, %l {block_size = 1024 : i64} : (tensor<1x1x64x64xf16>, tensor<1x1x4194304x64xf16>, tensor<1x1x4194304x64xf16>, tensor<1x1x4096xi1>) -> tensor<1x1x64x64xf16>
  return %0 : tensor<1x1x64x64xf16>
}

// -----

// CHECK: ds_attention::flash_attention<__half, float, k0_attention_config>(
func.func @main(%q: tensor<1x1x64x64xf16>, %k: tensor<1x1x?x64xf16>, %l: tensor<1x4x4xi1>) -> tensor<1x1x64x64xf16> {
  %0 = ds.block_sparse_attention %q, %k, %k, %l {block_size = 16 : i64} : (tensor<1x1x64x64xf16>, tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16>, tensor<1x4x4xi1>) -> tensor<1x1x64x64xf16>
  return %0 : tensor<1x1x64x64xf16>
}
