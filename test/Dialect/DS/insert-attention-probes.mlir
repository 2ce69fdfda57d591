// RUN: ds-opt %s --split-input-file --ds-insert-attention-probes="window=2 sinks=1" -verify-diagnostics | FileCheck %s

// GQA (4 query heads on 2 KV heads), causal from the end of a longer key
// range: the probe recomputes the dense probabilities with the op's
// diagonal (query i sees keys j <= i + (-2) + 6 - 4), keeps those the
// window (2 keys ending at the diagonal) and the sink (key 0) keep, and
// returns both sums per query head after the model's own result.
// CHECK-LABEL: func @gqa
// CHECK-SAME:  -> (tensor<1x4x4x8xf32> {ds.name = "out"}, tensor<2x4xf32> {ds.name = "ds.attention-probe:0"})
// CHECK:       %[[O:.*]] = ds.attention
// CHECK:       ds.expand {{.*}} -> tensor<1x2x2x6x8xf32>
// CHECK:       ds.matmul {{.*}} -> tensor<1x4x4x6xf32>
// CHECK:       ds.constant dense<{{\[}}[true, false, false, false, false, false], [true, true, false, false, false, false], [true, true, true, false, false, false], [true, true, true, true, false, false]]>
// CHECK:       ds.softmax
// CHECK:       ds.constant dense<{{\[}}[true, false, false, false, false, false], [true, true, false, false, false, false], [true, true, true, false, false, false], [true, false, true, true, false, false]]>
// CHECK:       %[[IN:.*]] = ds.reduce sum {{.*}}axes = array<i64: 0, 2, 3>
// CHECK:       %[[ALL:.*]] = ds.reduce sum {{.*}}axes = array<i64: 0, 2, 3>
// CHECK:       %[[P:.*]] = ds.concat
// CHECK-SAME:  -> tensor<2x4xf32>
// CHECK:       return %[[O]], %[[P]]
func.func @gqa(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x8xf32>) -> (tensor<1x4x4x8xf32> {ds.name = "out"}) {
  %o = ds.attention %q, %k, %v {is_causal, causal_from_end, causal_offset = -2 : i64} : (tensor<1x4x4x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

// Attentions the pattern would not make sparse are numbered all the same
// (as ds-sparsify-attention's dense-heads counts them) and left unprobed.
// CHECK-LABEL: func @numbering
// CHECK-SAME:  -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<2x2xf32> {ds.name = "ds.attention-probe:2"})
func.func @numbering(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  // expected-remark @below {{attention 0 not measured: not causal}}
  %a = ds.attention %q, %k, %v : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  // expected-remark @below {{attention 1 not measured: already sparse}}
  %b = ds.attention %q, %k, %v {is_causal, window = 2 : i64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %c = ds.attention %q, %k, %v {is_causal} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %a, %b, %c : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func @dynamic
// CHECK-SAME:  -> tensor<1x2x?x8xf32>
func.func @dynamic(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  // expected-remark @below {{attention 0 not measured: its shapes are not static}}
  %o = ds.attention %q, %k, %v {is_causal} : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// A mask of another float type than the scores is not added to them.
// CHECK-LABEL: func @half_mask
// CHECK-SAME:  -> tensor<1x2x4x8xf32>
func.func @half_mask(%q: tensor<1x2x4x8xf32>, %m: tensor<4x4xf16>) -> tensor<1x2x4x8xf32> {
  // expected-remark @below {{attention 0 not measured: its mask is neither boolean nor f32}}
  %o = ds.attention %q, %q, %q, %m {is_causal} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<4x4xf16>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
