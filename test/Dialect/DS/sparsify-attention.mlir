// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="window=256 sinks=4" | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="window=256 sinks=4 report=true" --verify-diagnostics -o /dev/null
// RUN: not ds-opt %s --ds-sparsify-attention="window=0 sinks=4" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: ds-sparsify-attention: window must be > 0 and sinks >= 0 (got window 0, sinks 4)
// RUN: not ds-opt %s --ds-sparsify-attention="select-blocks=2 block-size=256" 2>&1 | FileCheck %s --check-prefix=BAD-BLOCK
// BAD-BLOCK: ds-sparsify-attention: select-blocks must be > 0, without window or sinks, with block-size in [1, 128] (got select-blocks 2, block-size 256)
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="select-blocks=8 block-size=64 report=true" 2>&1 | FileCheck %s --check-prefix=SELECT
// SELECT: remark: sparse attention: block selection, 8 blocks of 64 keys chosen per query block, plus the first and the local blocks: each query sees at most 704 keys
// SELECT: ds.attention %arg0, %arg1, %arg2 {block_size = 64 : i64, is_causal, select_blocks = 8 : i64}

// Causal attention gets the window and the sinks; the report gives the
// closed forms: S(S+1)/2 causal pairs per head, 256 + 4 per query once the
// window is full (4096 x 4097 / 2 = 8390656 -> 1031290).
// CHECK-LABEL: func.func @prefill
// CHECK: ds.attention %arg0, %arg1, %arg2 {is_causal, sink_tokens = 4 : i64, window = 256 : i64}
func.func @prefill(%q: tensor<1x8x4096x128xf32>, %k: tensor<1x8x4096x128xf32>, %v: tensor<1x8x4096x128xf32>) -> tensor<1x8x4096x128xf32> {
  // expected-remark @below {{sparse attention: window 256 + 4 sink keys; pairs per head 8390656 -> 1031290, 34.4 -> 4.22 GFLOP (12.3%); K and V read per query at most 266240 bytes instead of 4194304}}
  %0 = ds.attention %q, %k, %v {is_causal} : (tensor<1x8x4096x128xf32>, tensor<1x8x4096x128xf32>, tensor<1x8x4096x128xf32>) -> tensor<1x8x4096x128xf32>
  return %0 : tensor<1x8x4096x128xf32>
}

// -----

// Dynamic lengths: the cost per query. An encoder's attention stays dense,
// an already sparse one stays as it is.
// CHECK-LABEL: func.func @decode
// CHECK: ds.attention %arg0, %arg1, %arg1 {causal_from_end, is_causal, sink_tokens = 4 : i64, window = 256 : i64}
// CHECK: ds.attention %arg0, %arg1, %arg1 :
// CHECK: ds.attention %arg0, %arg1, %arg1 {is_causal, window = 8 : i64}
func.func @decode(%q: tensor<1x8x1x64xf16>, %k: tensor<1x8x?x64xf16>) -> (tensor<1x8x1x64xf16>, tensor<1x8x1x64xf16>, tensor<1x8x1x64xf16>) {
  // expected-remark @below {{sparse attention: window 256 + 4 sink keys; each query reads at most 260 keys (66560 bytes of K and V) instead of all keys up to its diagonal}}
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end} : (tensor<1x8x1x64xf16>, tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16>) -> tensor<1x8x1x64xf16>
  // expected-remark @below {{left dense: not causal (a sliding window needs a diagonal)}}
  %1 = ds.attention %q, %k, %k : (tensor<1x8x1x64xf16>, tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16>) -> tensor<1x8x1x64xf16>
  // expected-remark @below {{left as it is: already sparse (window 8, 0 sink keys, 0 selected blocks)}}
  %2 = ds.attention %q, %k, %k {is_causal, window = 8 : i64} : (tensor<1x8x1x64xf16>, tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16>) -> tensor<1x8x1x64xf16>
  return %0, %1, %2 : tensor<1x8x1x64xf16>, tensor<1x8x1x64xf16>, tensor<1x8x1x64xf16>
}
