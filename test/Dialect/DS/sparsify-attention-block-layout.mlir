// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="local-blocks=2 stride-blocks=3 global-blocks=1 block-size=32 report=true" --verify-diagnostics | FileCheck %s
// RUN: not ds-opt %s --ds-sparsify-attention="local-blocks=2 window=16" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: ds-sparsify-attention: local-blocks, stride-blocks and global-blocks must be >= 0, without window, sinks or select-blocks, with block-size in [1, 1024] (got local 2, stride 0, global 0, block-size 64)
// RUN: not ds-opt %s --ds-sparsify-attention="global-blocks=1 block-size=2000" 2>&1 | FileCheck %s --check-prefix=BAD-SIZE
// BAD-SIZE: block-size in [1, 1024] (got local 0, stride 0, global 1, block-size 2000)

// Causal: query block r (diagonal block r) keeps key block 0 (global), its
// own and the one before (local 2) and r - 3, r - 6 (stride 3); the mask
// and the causality stay. 8 x 8 blocks of 32.
// CHECK-LABEL: func.func @decoder
// CHECK: %[[L:.*]] = ds.constant dense<{{\[\[}}[true, false, false, false, false, false, false, false], [true, true, false, false, false, false, false, false], [true, true, true, false, false, false, false, false], [true, false, true, true, false, false, false, false], [true, true, false, true, true, false, false, false], [true, false, true, false, true, true, false, false], [true, false, false, true, false, true, true, false], [true, true, false, false, true, false, true, true]]]> : tensor<1x8x8xi1>
// CHECK: ds.block_sparse_attention %arg0, %arg1, %arg1, %[[L]] {block_size = 32 : i64, is_causal} : (tensor<1x8x256x16xf32>, tensor<1x8x256x16xf32>, tensor<1x8x256x16xf32>, tensor<1x8x8xi1>) -> tensor<1x8x256x16xf32>
func.func @decoder(%q: tensor<1x8x256x16xf32>, %k: tensor<1x8x256x16xf32>) -> tensor<1x8x256x16xf32> {
  // expected-remark @below {{sparse attention: block layout, blocks of 32 (local 2, stride 3, global 1): 26 of 64 blocks kept; pairs per head 32896 -> 22656 (68.9%)}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x8x256x16xf32>, tensor<1x8x256x16xf32>, tensor<1x8x256x16xf32>) -> tensor<1x8x256x16xf32>
  return %0 : tensor<1x8x256x16xf32>
}

// -----

// An encoder takes a layout too: within one block on either side, every
// third block either way, and the first query block sees everything; its
// padding mask and scale carry over.
// CHECK-LABEL: func.func @encoder
// CHECK: %[[L:.*]] = ds.constant dense<{{\[\[}}[true, true, true, true, true, true, true, true], [true, true, true, false, true, false, false, true],
// CHECK: ds.block_sparse_attention %arg0, %arg1, %arg1, %[[L]], %arg2 {block_size = 32 : i64, scale = 5.000000e-01 : f64}
func.func @encoder(%q: tensor<1x8x256x16xf32>, %k: tensor<1x8x256x16xf32>, %m: tensor<1x1x1x256xi1>) -> tensor<1x8x256x16xf32> {
  // expected-remark @below {{sparse attention: block layout, blocks of 32 (local 2, stride 3, global 1): 44 of 64 blocks kept; pairs per head 65536 -> 45056 (68.8%)}}
  %0 = ds.attention %q, %k, %k, %m {scale = 0.5 : f64} : (tensor<1x8x256x16xf32>, tensor<1x8x256x16xf32>, tensor<1x8x256x16xf32>, tensor<1x1x1x256xi1>) -> tensor<1x8x256x16xf32>
  return %0 : tensor<1x8x256x16xf32>
}

// -----

// A KV cache in front (diagonal offset 100, not a multiple of the block):
// the first query block's rows have their diagonals in key blocks 3 and 4,
// local-blocks counts back from the first of them (2, 3, 4), the stride from
// the last (4, 1).
// CHECK-LABEL: func.func @cached
// CHECK: ds.constant dense<{{\[\[}}[true, true, true, true, true, false, false, false], [true, false, true, true, true, true, false, false]]]> : tensor<1x2x8xi1>
func.func @cached(%q: tensor<1x8x64x16xf32>, %k: tensor<1x8x256x16xf32>) -> tensor<1x8x64x16xf32> {
  // expected-remark @below {{sparse attention: block layout, blocks of 32 (local 2, stride 3, global 1): 10 of 16 blocks kept; pairs per head 8480 -> 7456 (87.9%)}}
  %0 = ds.attention %q, %k, %k {is_causal, causal_offset = 100 : i64} : (tensor<1x8x64x16xf32>, tensor<1x8x256x16xf32>, tensor<1x8x256x16xf32>) -> tensor<1x8x64x16xf32>
  return %0 : tensor<1x8x64x16xf32>
}

// -----

// A decode step whose local blocks cover the whole cache: the layout hides
// nothing attention would see, so attention stays as it is.
// CHECK-LABEL: func.func @decode_covered
// CHECK: ds.attention %arg0, %arg1, %arg1 {causal_from_end, is_causal}
func.func @decode_covered(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x64x16xf32>) -> tensor<1x8x1x16xf32> {
  // expected-remark @below {{left dense: the block layout keeps every visible key}}
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end} : (tensor<1x8x1x16xf32>, tensor<1x8x64x16xf32>, tensor<1x8x64x16xf32>) -> tensor<1x8x1x16xf32>
  return %0 : tensor<1x8x1x16xf32>
}

// -----

// 2^18 queries and keys at blocks of 32: 2^26 layout entries, refused before
// they are built.
func.func @too_many_blocks(%q: tensor<1x1x262144x16xf32>) -> tensor<1x1x262144x16xf32> {
  // expected-error @below {{a block layout for 262144 queries and 262144 keys at block-size 32 has more than 16777216 blocks; the smallest block size that fits is 64}}
  %0 = ds.attention %q, %q, %q {is_causal} : (tensor<1x1x262144x16xf32>, tensor<1x1x262144x16xf32>, tensor<1x1x262144x16xf32>) -> tensor<1x1x262144x16xf32>
  return %0 : tensor<1x1x262144x16xf32>
}

// -----

// 2^23 keys: even blocks of 1024 leave 8192 x 8192 blocks.
func.func @no_block_size_fits(%q: tensor<1x1x8388608x16xf32>) -> tensor<1x1x8388608x16xf32> {
  // expected-error @below {{a block layout for 8388608 queries and 8388608 keys at block-size 32 has more than 16777216 blocks; no block size up to 1024 fits}}
  %0 = ds.attention %q, %q, %q {is_causal} : (tensor<1x1x8388608x16xf32>, tensor<1x1x8388608x16xf32>, tensor<1x1x8388608x16xf32>) -> tensor<1x1x8388608x16xf32>
  return %0 : tensor<1x1x8388608x16xf32>
}

// -----

// Lengths known only at run time (a KV cache of any length in front): the
// layout is built from the query's and key's dims 0-2 when the model runs,
// with the pattern and the diagonal of the attention.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[QS:.*]] = ds.shape %arg0 {end = 3 : i64, start = 0 : i64} : (tensor<1x8x?x16xf32>) -> tensor<3xi64>
// CHECK: %[[KS:.*]] = ds.shape %arg1 {end = 3 : i64, start = 0 : i64} : (tensor<1x8x?x16xf32>) -> tensor<3xi64>
// CHECK: %[[L:.*]] = ds.block_layout %[[QS]], %[[KS]] {block_size = 32 : i64, causal_from_end, global_blocks = 1 : i64, is_causal, local_blocks = 2 : i64, stride_blocks = 3 : i64} : (tensor<3xi64>, tensor<3xi64>) -> tensor<1x?x?xi1>
// CHECK: ds.block_sparse_attention %arg0, %arg1, %arg1, %[[L]] {block_size = 32 : i64, causal_from_end, is_causal} : (tensor<1x8x?x16xf32>, tensor<1x8x?x16xf32>, tensor<1x8x?x16xf32>, tensor<1x?x?xi1>) -> tensor<1x8x?x16xf32>
func.func @dynamic(%q: tensor<1x8x?x16xf32>, %k: tensor<1x8x?x16xf32>) -> tensor<1x8x?x16xf32> {
  // expected-remark @below {{sparse attention: block layout, blocks of 32 (local 2, stride 3, global 1), built at run time for the query and key lengths}}
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end} : (tensor<1x8x?x16xf32>, tensor<1x8x?x16xf32>, tensor<1x8x?x16xf32>) -> tensor<1x8x?x16xf32>
  return %0 : tensor<1x8x?x16xf32>
}

// -----

// A dynamic encoder takes the layout the same way, without causality.
// CHECK-LABEL: func.func @dynamic_encoder
// CHECK: ds.block_layout %{{.*}}, %{{.*}} {block_size = 32 : i64, global_blocks = 1 : i64, local_blocks = 2 : i64, stride_blocks = 3 : i64}
func.func @dynamic_encoder(%q: tensor<?x8x?x16xf32>) -> tensor<?x8x?x16xf32> {
  // expected-remark @below {{built at run time}}
  %0 = ds.attention %q, %q, %q : (tensor<?x8x?x16xf32>, tensor<?x8x?x16xf32>, tensor<?x8x?x16xf32>) -> tensor<?x8x?x16xf32>
  return %0 : tensor<?x8x?x16xf32>
}
