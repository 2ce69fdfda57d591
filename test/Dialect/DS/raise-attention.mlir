// RUN: ds-opt %s --split-input-file --ds-raise-attention | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-raise-attention=explain=true --verify-diagnostics -o /dev/null

// BERT: Kᵀ through its own transpose, Div by √d, an added padding mask.
// CHECK-LABEL: func.func @bert
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x8x4x16xf32>, %[[V:.*]]: tensor<2x4x8x16xf32>, %[[M:.*]]: tensor<2x1x1x8xf32>)
// CHECK:      %[[KH:.*]] = ds.transpose %[[K]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK-NEXT: %[[O:.*]] = ds.attention %[[Q]], %[[KH]], %[[V]], %[[M]] {scale = 2.500000e-01 : f64}
// CHECK-NEXT: return %[[O]]
func.func @bert(%q: tensor<2x4x8x16xf32>, %k: tensor<2x8x4x16xf32>, %v: tensor<2x4x8x16xf32>, %mask: tensor<2x1x1x8xf32>) -> tensor<2x4x8x16xf32> {
  %c4 = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 2, 3, 1>} : (tensor<2x8x4x16xf32>) -> tensor<2x4x16x8xf32>
  %s = ds.matmul %q, %kt : (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x8x8xf32>
  %d = ds.binary div %s, %c4 : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
  %m = ds.binary add %d, %mask : (tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32>) -> tensor<2x4x8x8xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %o = ds.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// The scale split as √√d on Q and on K, no mask; K already [B, H, L, D].
// CHECK-LABEL: func.func @split_scale
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x8x16xf32>, %[[K:.*]]: tensor<1x2x8x16xf32>, %[[V:.*]]: tensor<1x2x8x16xf32>)
// CHECK-NEXT: %[[O:.*]] = ds.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f64}
// CHECK-NEXT: return %[[O]]
func.func @split_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %c = ds.constant dense<0.5> : tensor<1xf32>
  %qs = ds.binary mul %q, %c : (tensor<1x2x8x16xf32>, tensor<1xf32>) -> tensor<1x2x8x16xf32>
  %ks = ds.binary mul %k, %c : (tensor<1x2x8x16xf32>, tensor<1xf32>) -> tensor<1x2x8x16xf32>
  %kt = ds.transpose %ks {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x8x16xf32>) -> tensor<1x2x16x8xf32>
  %s = ds.matmul %qs, %kt : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  // expected-remark @below {{raised to ds.attention (unmasked)}}
  %p = ds.softmax %s {axis = -1 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = ds.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// A decoder with a KV cache of run-time length: masked_fill(~(arange(L) <=
// arange(S) + (L - S)), -inf) is causal counted from the last key. (With
// finfo.min instead of -inf the rows must provably see a key, L >= S, which
// these unrelated input sizes do not show: see @finite_fill_unproven.)
// CHECK-LABEL: func.func @kv_cache
// CHECK-NOT:  ds.range
// CHECK-NOT:  ds.select
// CHECK:      ds.attention %arg0, %arg1, %arg2 {causal_from_end, is_causal, scale = 2.500000e-01 : f64}
func.func @kv_cache(%q: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "s", ""]}, %k: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "l", ""]}, %v: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "l", ""]}) -> tensor<?x4x?x16xf32> {
  %c0 = ds.constant dense<0> : tensor<i64>
  %c1 = ds.constant dense<1> : tensor<i64>
  %c2 = ds.constant dense<2> : tensor<i64>
  %row = ds.constant dense<[-1, 1]> : tensor<2xi64>
  %col = ds.constant dense<[1, -1]> : tensor<2xi64>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %qs = ds.shape %q {end = 4 : i64, start = 0 : i64} : (tensor<?x4x?x16xf32>) -> tensor<4xi64>
  %ks = ds.shape %k {end = 4 : i64, start = 0 : i64} : (tensor<?x4x?x16xf32>) -> tensor<4xi64>
  %S = ds.gather %qs, %c2 {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %L = ds.gather %ks, %c2 {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<?x4x?x16xf32>) -> tensor<?x4x16x?xf32>
  %s = ds.matmul %q, %kt : (tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32>) -> tensor<?x4x?x?xf32>
  %d = ds.binary div %s, %four : (tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
  %r = ds.range %c0, %S, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %past = ds.binary sub %L, %S : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %rp = ds.binary add %r, %past : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %cr = ds.range %c0, %L, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %rows = ds.reshape %rp, %row : (tensor<?xi64>, tensor<2xi64>) -> tensor<?x1xi64>
  %cols = ds.reshape %cr, %col : (tensor<?xi64>, tensor<2xi64>) -> tensor<1x?xi64>
  %vis = ds.compare le %cols, %rows : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %hid = ds.unary not %vis : (tensor<?x?xi1>) -> tensor<?x?xi1>
  %m = ds.select %hid, %fill, %d : (tensor<?x?xi1>, tensor<f32>, tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  // expected-remark @below {{raised to ds.attention (causal counted from the last key)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  %o = ds.matmul %p, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// -----

// The same mask with static sizes, after constant folding: the Ranges are
// constants, [S, 1] holding 2, 3, 4 (the diagonal after a 2-key cache) and
// [1, L] holding 0 .. 4. Still causal, with the offset as a number.
// CHECK-LABEL: func.func @kv_cache_folded
// CHECK-NOT:  ds.compare
// CHECK:      ds.attention %arg0, %arg1, %arg2 {causal_offset = 2 : i64, is_causal, scale = 2.500000e-01 : f64}
func.func @kv_cache_folded(%q: tensor<1x4x3x16xf32>, %k: tensor<1x4x5x16xf32>, %v: tensor<1x4x5x16xf32>) -> tensor<1x4x3x16xf32> {
  %rows = ds.constant dense<[[2], [3], [4]]> : tensor<3x1xi64>
  %cols = ds.constant dense<[[0, 1, 2, 3, 4]]> : tensor<1x5xi64>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x5x16xf32>) -> tensor<1x4x16x5xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x3x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x3x5xf32>
  %d = ds.binary div %s, %four : (tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %vis = ds.compare le %cols, %rows : (tensor<1x5xi64>, tensor<3x1xi64>) -> tensor<3x5xi1>
  %hid = ds.unary not %vis : (tensor<3x5xi1>) -> tensor<3x5xi1>
  %m = ds.select %hid, %fill, %d : (tensor<3x5xi1>, tensor<f32>, tensor<1x4x3x5xf32>) -> tensor<1x4x3x5xf32>
  // expected-remark @below {{raised to ds.attention (causal with offset 2)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x3x5xf32>) -> tensor<1x4x3x5xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x3x5xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x3x16xf32>
  return %o : tensor<1x4x3x16xf32>
}

// -----

// A static export: the keys a causal mask hides folded to a constant
// triu(ones, 1) that selects the fill (its last row hides nothing, so the
// triangle's edge is read from row 0). Causal, no mask operand.
// CHECK-LABEL: func.func @hidden_triangle_constant
// CHECK:      ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 2.500000e-01 : f64}
func.func @hidden_triangle_constant(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32> {
  %hid = ds.constant dense<[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]> : tensor<4x4xi1>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x16xf32>) -> tensor<1x2x16x4xf32>
  %s = ds.matmul %q, %kt : (tensor<1x2x4x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x4x4xf32>
  %d = ds.binary div %s, %four : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %m = ds.select %hid, %fill, %d : (tensor<4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @below {{raised to ds.attention (causal)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = ds.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}

// -----

// The same triangle one key further (j >= i + 2 hidden): causal with
// offset 1.
// CHECK-LABEL: func.func @hidden_triangle_offset
// CHECK:      ds.attention %arg0, %arg1, %arg2 {causal_offset = 1 : i64, is_causal, scale = 2.500000e-01 : f64}
func.func @hidden_triangle_offset(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32> {
  %hid = ds.constant dense<[[false, false, true, true], [false, false, false, true], [false, false, false, false], [false, false, false, false]]> : tensor<4x4xi1>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x16xf32>) -> tensor<1x2x16x4xf32>
  %s = ds.matmul %q, %kt : (tensor<1x2x4x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x4x4xf32>
  %d = ds.binary div %s, %four : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %m = ds.select %hid, %fill, %d : (tensor<4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @below {{raised to ds.attention (causal with offset 1)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = ds.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}

// -----

// A constant that is not a step-1 progression (0, 2, 4, ...) is no index:
// the mask stays a mask.
// CHECK-LABEL: func.func @not_a_progression
// CHECK:      ds.attention %arg0, %arg1, %arg2, %{{.*}} {scale = 2.500000e-01 : f64}
func.func @not_a_progression(%q: tensor<1x4x3x16xf32>, %k: tensor<1x4x5x16xf32>, %v: tensor<1x4x5x16xf32>) -> tensor<1x4x3x16xf32> {
  %rows = ds.constant dense<[[2], [3], [4]]> : tensor<3x1xi64>
  %cols = ds.constant dense<[[0, 2, 4, 6, 8]]> : tensor<1x5xi64>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x5x16xf32>) -> tensor<1x4x16x5xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x3x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x3x5xf32>
  %d = ds.binary div %s, %four : (tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %vis = ds.compare le %cols, %rows : (tensor<1x5xi64>, tensor<3x1xi64>) -> tensor<3x5xi1>
  %hid = ds.unary not %vis : (tensor<3x5xi1>) -> tensor<3x5xi1>
  %m = ds.select %hid, %fill, %d : (tensor<3x5xi1>, tensor<f32>, tensor<1x4x3x5xf32>) -> tensor<1x4x3x5xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x3x5xf32>) -> tensor<1x4x3x5xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x3x5xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x3x16xf32>
  return %o : tensor<1x4x3x16xf32>
}

// -----

// finfo.min and L >= S not provable: an additive where(keep, 0, finfo.min)
// mask, exact also for rows that see no key.
// CHECK-LABEL: func.func @finite_fill_unproven
// CHECK: %[[KEEP:.*]] = ds.compare le
// CHECK: %[[MASK:.*]] = ds.select %[[KEEP]], %{{.*}}, %{{.*}} : (tensor<?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<?x?xf32>
// CHECK: ds.attention %arg0, %arg1, %arg2, %[[MASK]] {scale = 2.500000e-01 : f64}
func.func @finite_fill_unproven(%q: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "s", ""]}, %k: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "l", ""]}, %v: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "l", ""]}) -> tensor<?x4x?x16xf32> {
  %c0 = ds.constant dense<0> : tensor<i64>
  %c1 = ds.constant dense<1> : tensor<i64>
  %c2 = ds.constant dense<2> : tensor<i64>
  %row = ds.constant dense<[-1, 1]> : tensor<2xi64>
  %col = ds.constant dense<[1, -1]> : tensor<2xi64>
  %fill = ds.constant dense<-3.40282347E+38> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %qs = ds.shape %q {end = 4 : i64, start = 0 : i64} : (tensor<?x4x?x16xf32>) -> tensor<4xi64>
  %ks = ds.shape %k {end = 4 : i64, start = 0 : i64} : (tensor<?x4x?x16xf32>) -> tensor<4xi64>
  %S = ds.gather %qs, %c2 {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %L = ds.gather %ks, %c2 {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<?x4x?x16xf32>) -> tensor<?x4x16x?xf32>
  %s = ds.matmul %q, %kt : (tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32>) -> tensor<?x4x?x?xf32>
  %d = ds.binary div %s, %four : (tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
  %r = ds.range %c0, %S, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %past = ds.binary sub %L, %S : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %rp = ds.binary add %r, %past : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %cr = ds.range %c0, %L, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %rows = ds.reshape %rp, %row : (tensor<?xi64>, tensor<2xi64>) -> tensor<?x1xi64>
  %cols = ds.reshape %cr, %col : (tensor<?xi64>, tensor<2xi64>) -> tensor<1x?xi64>
  %vis = ds.compare le %cols, %rows : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %hid = ds.unary not %vis : (tensor<?x?xi1>) -> tensor<?x?xi1>
  %m = ds.select %hid, %fill, %d : (tensor<?x?xi1>, tensor<f32>, tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  %o = ds.matmul %p, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// -----

// Top-left causal (query i sees keys 0..i) with more keys than queries:
// offset 0 from the first key, whatever L - S is.
// CHECK-LABEL: func.func @top_left
// CHECK: ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 2.500000e-01 : f64}
func.func @top_left(%q: tensor<1x4x?x16xf32> {ds.dim_symbols = ["", "", "s", ""]}, %k: tensor<1x4x?x16xf32> {ds.dim_symbols = ["", "", "l", ""]}, %v: tensor<1x4x?x16xf32> {ds.dim_symbols = ["", "", "l", ""]}) -> tensor<1x4x?x16xf32> {
  %c0 = ds.constant dense<0> : tensor<i64>
  %c1 = ds.constant dense<1> : tensor<i64>
  %c2 = ds.constant dense<2> : tensor<i64>
  %row = ds.constant dense<[-1, 1]> : tensor<2xi64>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %empty = ds.constant dense<> : tensor<0xi64>
  %qs = ds.shape %q {end = 3 : i64, start = 2 : i64} : (tensor<1x4x?x16xf32>) -> tensor<1xi64>
  %ks = ds.shape %k {end = 4 : i64, start = 0 : i64} : (tensor<1x4x?x16xf32>) -> tensor<4xi64>
  %S = ds.reshape %qs, %empty : (tensor<1xi64>, tensor<0xi64>) -> tensor<i64>
  %L = ds.gather %ks, %c2 {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x?x16xf32>) -> tensor<1x4x16x?xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x?x16xf32>, tensor<1x4x16x?xf32>) -> tensor<1x4x?x?xf32>
  %d = ds.binary div %s, %four : (tensor<1x4x?x?xf32>, tensor<f32>) -> tensor<1x4x?x?xf32>
  %rr = ds.range %c0, %S, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %cr = ds.range %c0, %L, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %rows = ds.reshape %rr, %row : (tensor<?xi64>, tensor<2xi64>) -> tensor<?x1xi64>
  %vis = ds.compare le %cr, %rows : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %m = ds.select %vis, %d, %fill : (tensor<?x?xi1>, tensor<1x4x?x?xf32>, tensor<f32>) -> tensor<1x4x?x?xf32>
  // expected-remark @below {{raised to ds.attention (causal)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x?x?xf32>) -> tensor<1x4x?x?xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x?x?xf32>, tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32>
  return %o : tensor<1x4x?x16xf32>
}

// -----

// A triangle from a range whose length (an input's value) the analysis
// cannot relate to the queries: left alone.
// CHECK-LABEL: func.func @unrelated_range
// CHECK-NOT: ds.attention
func.func @unrelated_range(%q: tensor<1x4x?x16xf32> {ds.dim_symbols = ["", "", "s", ""]}, %k: tensor<1x4x?x16xf32> {ds.dim_symbols = ["", "", "s", ""]}, %v: tensor<1x4x?x16xf32> {ds.dim_symbols = ["", "", "s", ""]}, %n: tensor<i64>) -> tensor<1x4x?x16xf32> {
  %c0 = ds.constant dense<0> : tensor<i64>
  %c1 = ds.constant dense<1> : tensor<i64>
  %row = ds.constant dense<[-1, 1]> : tensor<2xi64>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x?x16xf32>) -> tensor<1x4x16x?xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x?x16xf32>, tensor<1x4x16x?xf32>) -> tensor<1x4x?x?xf32>
  %r = ds.range %c0, %n, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %rows = ds.reshape %r, %row : (tensor<?xi64>, tensor<2xi64>) -> tensor<?x1xi64>
  %vis = ds.compare le %r, %rows : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %m = ds.select %vis, %s, %fill : (tensor<?x?xi1>, tensor<1x4x?x?xf32>, tensor<f32>) -> tensor<1x4x?x?xf32>
  // expected-remark @below {{not raised to ds.attention: the masked scores are not provably [batch, heads, queries, keys]}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x?x?xf32>) -> tensor<1x4x?x?xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x?x?xf32>, tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32>
  return %o : tensor<1x4x?x16xf32>
}

// -----

// A constant additive triangle of 0 and -inf, and a constant boolean one
// shifted by two (two cached keys in front).
// CHECK-LABEL: func.func @constant_triangles
// CHECK: ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 1.000000e+00 : f64}
// CHECK: ds.attention %arg0, %arg3, %arg3 {causal_offset = 2 : i64, is_causal, scale = 1.000000e+00 : f64}
func.func @constant_triangles(%q: tensor<1x1x3x4xf32>, %k: tensor<1x1x3x4xf32>, %v: tensor<1x1x3x4xf32>, %k5: tensor<1x1x5x4xf32>) -> (tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>) {
  %tri = ds.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x1x3x4xf32>) -> tensor<1x1x4x3xf32>
  %s = ds.matmul %q, %kt : (tensor<1x1x3x4xf32>, tensor<1x1x4x3xf32>) -> tensor<1x1x3x3xf32>
  %m = ds.binary add %s, %tri : (tensor<1x1x3x3xf32>, tensor<3x3xf32>) -> tensor<1x1x3x3xf32>
  // expected-remark @below {{raised to ds.attention (causal)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  %o = ds.matmul %p, %v : (tensor<1x1x3x3xf32>, tensor<1x1x3x4xf32>) -> tensor<1x1x3x4xf32>
  %keep = ds.constant dense<[[true, true, true, false, false], [true, true, true, true, false], [true, true, true, true, true]]> : tensor<3x5xi1>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %kt5 = ds.transpose %k5 {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x1x5x4xf32>) -> tensor<1x1x4x5xf32>
  %s5 = ds.matmul %q, %kt5 : (tensor<1x1x3x4xf32>, tensor<1x1x4x5xf32>) -> tensor<1x1x3x5xf32>
  %m5 = ds.select %keep, %s5, %fill : (tensor<3x5xi1>, tensor<1x1x3x5xf32>, tensor<f32>) -> tensor<1x1x3x5xf32>
  // expected-remark @below {{raised to ds.attention (causal with offset 2)}}
  %p5 = ds.softmax %m5 {axis = 3 : i64} : (tensor<1x1x3x5xf32>) -> tensor<1x1x3x5xf32>
  %o5 = ds.matmul %p5, %k5 : (tensor<1x1x3x5xf32>, tensor<1x1x5x4xf32>) -> tensor<1x1x3x4xf32>
  return %o, %o5 : tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>
}

// -----

// Hugging Face's repeat_kv (2 KV heads, each repeated twice) is dropped:
// ds.attention shares KV heads itself. The mask is triu(full(min), 1).
// CHECK-LABEL: func.func @grouped_query
// CHECK-NOT:  ds.expand
// CHECK-NOT:  ds.trilu
// CHECK:      ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 2.500000e-01 : f64} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
func.func @grouped_query(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %five = ds.constant dense<[1, 2, 1, 8, 16]> : tensor<5xi64>
  %wide = ds.constant dense<[1, 2, 2, 8, 16]> : tensor<5xi64>
  %four = ds.constant dense<[1, 4, 8, 16]> : tensor<4xi64>
  %one = ds.constant dense<1> : tensor<i64>
  %min = ds.constant dense<-3.40282347E+38> : tensor<8x8xf32>
  %c4 = ds.constant dense<4.0> : tensor<f32>
  %k5 = ds.reshape %k, %five : (tensor<1x2x8x16xf32>, tensor<5xi64>) -> tensor<1x2x1x8x16xf32>
  %kx = ds.expand %k5, %wide : (tensor<1x2x1x8x16xf32>, tensor<5xi64>) -> tensor<1x2x2x8x16xf32>
  %kr = ds.reshape %kx, %four : (tensor<1x2x2x8x16xf32>, tensor<4xi64>) -> tensor<1x4x8x16xf32>
  %v5 = ds.reshape %v, %five : (tensor<1x2x8x16xf32>, tensor<5xi64>) -> tensor<1x2x1x8x16xf32>
  %vx = ds.expand %v5, %wide : (tensor<1x2x1x8x16xf32>, tensor<5xi64>) -> tensor<1x2x2x8x16xf32>
  %vr = ds.reshape %vx, %four : (tensor<1x2x2x8x16xf32>, tensor<4xi64>) -> tensor<1x4x8x16xf32>
  %kt = ds.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x8x16xf32>) -> tensor<1x4x16x8xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %d = ds.binary div %s, %c4 : (tensor<1x4x8x8xf32>, tensor<f32>) -> tensor<1x4x8x8xf32>
  %mask = ds.trilu %min, %one {upper} : (tensor<8x8xf32>, tensor<i64>) -> tensor<8x8xf32>
  %m = ds.binary add %d, %mask : (tensor<1x4x8x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8x8xf32>
  // expected-remark @below {{raised to ds.attention (causal, 4 query heads sharing 2 KV heads)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %o = ds.matmul %p, %vr : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// What is left alone, and why.
// CHECK-LABEL: func.func @not_raised
// CHECK-NOT:  ds.attention
func.func @not_raised(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x8x16xf32>, %keep: tensor<8x8xi1>, %k1: tensor<1x1x16x8xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {
  %fill = ds.constant dense<-1.0e+04> : tensor<f32>
  %s = ds.matmul %q, %k : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  %m = ds.select %keep, %s, %fill : (tensor<8x8xi1>, tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  // expected-remark @below {{not raised to ds.attention: masked scores are filled with -10000.000000, which changes fully masked rows; only fills <= -1e30 (or -inf) are exact as a mask}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = ds.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  // expected-remark @below {{not raised to ds.attention: the softmax is not over the keys (the last axis)}}
  %p2 = ds.softmax %s {axis = 2 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o2 = ds.matmul %p2, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %e = ds.unary exp %s : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  // expected-remark @below {{not raised to ds.attention: the softmax input is not a matmul of queries and keys (after mask and scale)}}
  %p3 = ds.softmax %e {axis = 3 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o3 = ds.matmul %p3, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  // One key head broadcast over two query heads by the matmul itself.
  %s4 = ds.matmul %q, %k1 : (tensor<1x2x8x16xf32>, tensor<1x1x16x8xf32>) -> tensor<1x2x8x8xf32>
  // expected-remark @below {{not raised to ds.attention: query, key and value head counts differ}}
  %p4 = ds.softmax %s4 {axis = 3 : i64} : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o4 = ds.matmul %p4, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o, %o2, %o3, %o4 : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}

// -----

// A top-k selection scattered into a -inf mask [B, S, L], unsqueezed over
// the heads: ds.sparse_attention with the indices [B, 1, S, K]. The same
// with indices covering only some rows is left alone (unlisted rows would
// be fully masked, which sparse attention does not express).
// CHECK-LABEL: func.func @topk_selection
// CHECK-NOT: ds.scatter_elements
// CHECK: %{{.*}}, %[[TOP:.*]] = ds.topk %arg3
// CHECK: %[[IDX:.*]] = ds.reshape %[[TOP]],
// CHECK: ds.sparse_attention %arg0, %arg1, %arg2, %[[IDX]] {scale = 2.500000e-01 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x8x3xi64>) -> tensor<2x4x8x16xf32>
// CHECK: %[[PART:.*]] = ds.scatter_elements
// CHECK: %[[PART4:.*]] = ds.reshape %[[PART]]
// CHECK: ds.attention %arg0, %arg1, %arg2, %[[PART4]]
func.func @topk_selection(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %scores: tensor<2x8x8xf32>, %scores5: tensor<2x5x8xf32>) -> (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %three = ds.constant dense<3> : tensor<1xi64>
  %top:2 = ds.topk %scores, %three {axis = -1 : i64, largest = true, sorted = true} : (tensor<2x8x8xf32>, tensor<1xi64>) -> (tensor<2x8x3xf32>, tensor<2x8x3xi64>)
  %top5:2 = ds.topk %scores5, %three {axis = -1 : i64, largest = true, sorted = true} : (tensor<2x5x8xf32>, tensor<1xi64>) -> (tensor<2x5x3xf32>, tensor<2x5x3xi64>)
  %ninf = ds.constant dense<0xFF800000> : tensor<2x8x8xf32>
  %zeros = ds.constant dense<0.0> : tensor<2x8x3xf32>
  %zeros5 = ds.constant dense<0.0> : tensor<2x5x3xf32>
  %shape = ds.constant dense<[2, 1, 8, 8]> : tensor<4xi64>
  %c4 = ds.constant dense<4.0> : tensor<f32>
  %mask3 = ds.scatter_elements %ninf, %top#1, %zeros {axis = -1 : i64, reduction = 0 : i32} : (tensor<2x8x8xf32>, tensor<2x8x3xi64>, tensor<2x8x3xf32>) -> tensor<2x8x8xf32>
  %mask = ds.reshape %mask3, %shape : (tensor<2x8x8xf32>, tensor<4xi64>) -> tensor<2x1x8x8xf32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32>
  %s = ds.matmul %q, %kt : (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x8x8xf32>
  %d = ds.binary div %s, %c4 : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
  %m = ds.binary add %d, %mask : (tensor<2x4x8x8xf32>, tensor<2x1x8x8xf32>) -> tensor<2x4x8x8xf32>
  // expected-remark @below {{raised to ds.sparse_attention (the keys a top-k selection lists, unmasked)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %o = ds.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %part3 = ds.scatter_elements %ninf, %top5#1, %zeros5 {axis = -1 : i64, reduction = 0 : i32} : (tensor<2x8x8xf32>, tensor<2x5x3xi64>, tensor<2x5x3xf32>) -> tensor<2x8x8xf32>
  %part = ds.reshape %part3, %shape : (tensor<2x8x8xf32>, tensor<4xi64>) -> tensor<2x1x8x8xf32>
  %m2 = ds.binary add %d, %part : (tensor<2x4x8x8xf32>, tensor<2x1x8x8xf32>) -> tensor<2x4x8x8xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p2 = ds.softmax %m2 {axis = 3 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %o2 = ds.matmul %p2, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o, %o2 : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>
}

// -----

// NSA's selected blocks as a token mask: 2 of 4 blocks of 4 keys chosen per
// query, 0 scattered into a -inf [B, S, 4] mask, widened to the 16 keys
// (each key takes its block's entry). Raised to ds.sparse_attention over
// the chosen blocks' keys, block * 4 + [0, 4). Widened the other way round
// ([B, S, 1, 4] expanded: key j would take block j % 4) it is a plain mask.
// CHECK-LABEL: func.func @block_selection
// CHECK: %{{.*}}, %[[TOP:.*]] = ds.topk %arg3
// CHECK: %[[FOUR:.*]] = ds.constant dense<4> : tensor<i64>
// CHECK: %[[FIRST:.*]] = ds.binary mul %[[TOP]], %[[FOUR]] : (tensor<2x8x2xi64>, tensor<i64>) -> tensor<2x8x2xi64>
// CHECK: %[[COLUMN:.*]] = ds.reshape %[[FIRST]], %{{.*}} -> tensor<2x8x2x1xi64>
// CHECK: %[[OFFSETS:.*]] = ds.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
// CHECK: %[[KEYS:.*]] = ds.binary add %[[COLUMN]], %[[OFFSETS]] : (tensor<2x8x2x1xi64>, tensor<4xi64>) -> tensor<2x8x2x4xi64>
// CHECK: %[[FLAT:.*]] = ds.reshape %[[KEYS]], %{{.*}} -> tensor<2x8x8xi64>
// CHECK: %[[SHARED:.*]] = ds.reshape %[[FLAT]], %{{.*}} -> tensor<2x1x8x8xi64>
// CHECK: ds.sparse_attention %arg0, %arg1, %arg2, %[[SHARED]] {scale = 2.500000e-01 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x1x8x8xi64>) -> tensor<2x4x8x16xf32>
// CHECK: ds.attention %arg0, %arg1, %arg2, %{{.*}} {scale = 2.500000e-01 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x1x8x16xf32>)
func.func @block_selection(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x16x16xf32>, %v: tensor<2x4x16x16xf32>, %scores: tensor<2x8x4xf32>) -> (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) {
  %two = ds.constant dense<2> : tensor<1xi64>
  %top:2 = ds.topk %scores, %two {axis = -1 : i64, largest = true, sorted = true} : (tensor<2x8x4xf32>, tensor<1xi64>) -> (tensor<2x8x2xf32>, tensor<2x8x2xi64>)
  %ninf = ds.constant dense<0xFF800000> : tensor<2x8x4xf32>
  %zeros = ds.constant dense<0.0> : tensor<2x8x2xf32>
  %blocks = ds.scatter_elements %ninf, %top#1, %zeros {axis = -1 : i64, reduction = 0 : i32} : (tensor<2x8x4xf32>, tensor<2x8x2xi64>, tensor<2x8x2xf32>) -> tensor<2x8x4xf32>
  %col = ds.constant dense<[2, 8, 4, 1]> : tensor<4xi64>
  %row = ds.constant dense<[2, 8, 1, 4]> : tensor<4xi64>
  %wide = ds.constant dense<[2, 8, 4, 4]> : tensor<4xi64>
  %keys = ds.constant dense<[2, 8, 16]> : tensor<3xi64>
  %heads = ds.constant dense<[2, 1, 8, 16]> : tensor<4xi64>
  %c4 = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %s = ds.matmul %q, %kt : (tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>) -> tensor<2x4x8x16xf32>
  %d = ds.binary div %s, %c4 : (tensor<2x4x8x16xf32>, tensor<f32>) -> tensor<2x4x8x16xf32>
  %b1 = ds.reshape %blocks, %col : (tensor<2x8x4xf32>, tensor<4xi64>) -> tensor<2x8x4x1xf32>
  %e1 = ds.expand %b1, %wide : (tensor<2x8x4x1xf32>, tensor<4xi64>) -> tensor<2x8x4x4xf32>
  %t1 = ds.reshape %e1, %keys : (tensor<2x8x4x4xf32>, tensor<3xi64>) -> tensor<2x8x16xf32>
  %mask = ds.reshape %t1, %heads : (tensor<2x8x16xf32>, tensor<4xi64>) -> tensor<2x1x8x16xf32>
  %m = ds.binary add %d, %mask : (tensor<2x4x8x16xf32>, tensor<2x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  // expected-remark @below {{raised to ds.sparse_attention (the blocks of 4 keys a top-k selection lists, unmasked)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %o = ds.matmul %p, %v : (tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>) -> tensor<2x4x8x16xf32>
  %b2 = ds.reshape %blocks, %row : (tensor<2x8x4xf32>, tensor<4xi64>) -> tensor<2x8x1x4xf32>
  %e2 = ds.expand %b2, %wide : (tensor<2x8x1x4xf32>, tensor<4xi64>) -> tensor<2x8x4x4xf32>
  %t2 = ds.reshape %e2, %keys : (tensor<2x8x4x4xf32>, tensor<3xi64>) -> tensor<2x8x16xf32>
  %mask2 = ds.reshape %t2, %heads : (tensor<2x8x16xf32>, tensor<4xi64>) -> tensor<2x1x8x16xf32>
  %m2 = ds.binary add %d, %mask2 : (tensor<2x4x8x16xf32>, tensor<2x1x8x16xf32>) -> tensor<2x4x8x16xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p2 = ds.softmax %m2 {axis = 3 : i64} : (tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %o2 = ds.matmul %p2, %v : (tensor<2x4x8x16xf32>, tensor<2x4x16x16xf32>) -> tensor<2x4x8x16xf32>
  return %o, %o2 : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>
}

// -----

// A sliding window written as a band (NSA's window branch, Longformer's
// local attention): keys j with d(i) - 16 < j <= d(i), the diagonal d(i)
// counted from the last key, kept by where(band, scores, -inf).
// CHECK-LABEL: func.func @band_window
// CHECK-NOT: ds.compare
// CHECK: ds.attention %arg0, %arg1, %arg2 {causal_from_end, is_causal, scale = 2.500000e-01 : f64, window = 16 : i64}
func.func @band_window(%q: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "s", ""]}, %k: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "l", ""]}, %v: tensor<?x4x?x16xf32> {ds.dim_symbols = ["b", "", "l", ""]}) -> tensor<?x4x?x16xf32> {
  %c0 = ds.constant dense<0> : tensor<i64>
  %c1 = ds.constant dense<1> : tensor<i64>
  %c2 = ds.constant dense<2> : tensor<i64>
  %w = ds.constant dense<16> : tensor<i64>
  %row = ds.constant dense<[-1, 1]> : tensor<2xi64>
  %col = ds.constant dense<[1, -1]> : tensor<2xi64>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %qs = ds.shape %q {end = 4 : i64, start = 0 : i64} : (tensor<?x4x?x16xf32>) -> tensor<4xi64>
  %ks = ds.shape %k {end = 4 : i64, start = 0 : i64} : (tensor<?x4x?x16xf32>) -> tensor<4xi64>
  %S = ds.gather %qs, %c2 {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %L = ds.gather %ks, %c2 {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<?x4x?x16xf32>) -> tensor<?x4x16x?xf32>
  %s = ds.matmul %q, %kt : (tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32>) -> tensor<?x4x?x?xf32>
  %d = ds.binary div %s, %four : (tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
  %r = ds.range %c0, %S, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %past = ds.binary sub %L, %S : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %rp = ds.binary add %r, %past : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %cr = ds.range %c0, %L, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %rows = ds.reshape %rp, %row : (tensor<?xi64>, tensor<2xi64>) -> tensor<?x1xi64>
  %cols = ds.reshape %cr, %col : (tensor<?xi64>, tensor<2xi64>) -> tensor<1x?xi64>
  %lo = ds.binary sub %rows, %w : (tensor<?x1xi64>, tensor<i64>) -> tensor<?x1xi64>
  %vis = ds.compare le %cols, %rows : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %near = ds.compare gt %cols, %lo : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %band = ds.binary and %near, %vis : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
  %m = ds.select %band, %d, %fill : (tensor<?x?xi1>, tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
  // expected-remark @below {{raised to ds.attention (causal counted from the last key, window of 16 keys)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<?x4x?x?xf32>) -> tensor<?x4x?x?xf32>
  %o = ds.matmul %p, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// -----

// The band as an added where(band, 0, -inf), static sizes: a window of 3.
// A band whose width is not a constant (lower bound i - n, n an input)
// stays a mask.
// CHECK-LABEL: func.func @band_added
// CHECK: ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 2.500000e-01 : f64, window = 3 : i64}
// CHECK: ds.attention %arg0, %arg1, %arg2, %{{.*}} {scale = 2.500000e-01 : f64}
func.func @band_added(%q: tensor<1x4x6x16xf32>, %k: tensor<1x4x6x16xf32>, %v: tensor<1x4x6x16xf32>, %n: tensor<i64>) -> (tensor<1x4x6x16xf32>, tensor<1x4x6x16xf32>) {
  %c0 = ds.constant dense<0> : tensor<i64>
  %c1 = ds.constant dense<1> : tensor<i64>
  %c6 = ds.constant dense<6> : tensor<i64>
  %w = ds.constant dense<3> : tensor<i64>
  %row = ds.constant dense<[6, 1]> : tensor<2xi64>
  %col = ds.constant dense<[1, 6]> : tensor<2xi64>
  %zero = ds.constant dense<0.0> : tensor<f32>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %four = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x6x16xf32>) -> tensor<1x4x16x6xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x6x16xf32>, tensor<1x4x16x6xf32>) -> tensor<1x4x6x6xf32>
  %d = ds.binary div %s, %four : (tensor<1x4x6x6xf32>, tensor<f32>) -> tensor<1x4x6x6xf32>
  %r = ds.range %c0, %c6, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<6xi64>
  %rows = ds.reshape %r, %row : (tensor<6xi64>, tensor<2xi64>) -> tensor<6x1xi64>
  %cols = ds.reshape %r, %col : (tensor<6xi64>, tensor<2xi64>) -> tensor<1x6xi64>
  %lo = ds.binary sub %rows, %w : (tensor<6x1xi64>, tensor<i64>) -> tensor<6x1xi64>
  %vis = ds.compare le %cols, %rows : (tensor<1x6xi64>, tensor<6x1xi64>) -> tensor<6x6xi1>
  %near = ds.compare gt %cols, %lo : (tensor<1x6xi64>, tensor<6x1xi64>) -> tensor<6x6xi1>
  %band = ds.binary and %vis, %near : (tensor<6x6xi1>, tensor<6x6xi1>) -> tensor<6x6xi1>
  %mask = ds.select %band, %zero, %fill : (tensor<6x6xi1>, tensor<f32>, tensor<f32>) -> tensor<6x6xf32>
  %m = ds.binary add %d, %mask : (tensor<1x4x6x6xf32>, tensor<6x6xf32>) -> tensor<1x4x6x6xf32>
  // expected-remark @below {{raised to ds.attention (causal, window of 3 keys)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x6x6xf32>, tensor<1x4x6x16xf32>) -> tensor<1x4x6x16xf32>
  %lo2 = ds.binary sub %rows, %n : (tensor<6x1xi64>, tensor<i64>) -> tensor<6x1xi64>
  %near2 = ds.compare gt %cols, %lo2 : (tensor<1x6xi64>, tensor<6x1xi64>) -> tensor<6x6xi1>
  %band2 = ds.binary and %vis, %near2 : (tensor<6x6xi1>, tensor<6x6xi1>) -> tensor<6x6xi1>
  %mask2 = ds.select %band2, %zero, %fill : (tensor<6x6xi1>, tensor<f32>, tensor<f32>) -> tensor<6x6xf32>
  %m2 = ds.binary add %d, %mask2 : (tensor<1x4x6x6xf32>, tensor<6x6xf32>) -> tensor<1x4x6x6xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p2 = ds.softmax %m2 {axis = 3 : i64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %o2 = ds.matmul %p2, %v : (tensor<1x4x6x6xf32>, tensor<1x4x6x16xf32>) -> tensor<1x4x6x16xf32>
  return %o, %o2 : tensor<1x4x6x16xf32>, tensor<1x4x6x16xf32>
}

// -----

// Bands that constant folding made constants (static sizes): kept keys
// d(i) - W < j <= d(i). A window of 2 on the diagonal, as an i1 keep-mask;
// the same with a finite fill (finfo.min) where every row keeps a key; a
// finite-fill band 2 keys ahead of the diagonal (d = i + 4 of 6 keys, W = 2)
// hides rows 3-5 entirely, which the graph averages and ds.attention would
// give as 0: left a mask.
// CHECK-LABEL: func.func @constant_bands
// CHECK: ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 2.500000e-01 : f64, window = 2 : i64}
// CHECK: ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 2.500000e-01 : f64, window = 2 : i64}
// CHECK: ds.attention %arg3, %arg4, %arg5, %{{.*}} {scale = 2.500000e-01 : f64}
func.func @constant_bands(%q: tensor<1x4x4x16xf32>, %k: tensor<1x4x4x16xf32>, %v: tensor<1x4x4x16xf32>, %q6: tensor<1x4x6x16xf32>, %k6: tensor<1x4x6x16xf32>, %v6: tensor<1x4x6x16xf32>) -> (tensor<1x4x4x16xf32>, tensor<1x4x4x16xf32>, tensor<1x4x6x16xf32>) {
  %four = ds.constant dense<4.0> : tensor<f32>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %band = ds.constant dense<[[true, false, false, false], [true, true, false, false], [false, true, true, false], [false, false, true, true]]> : tensor<4x4xi1>
  %min = ds.constant dense<[[0.0, -3.4e38, -3.4e38, -3.4e38], [0.0, 0.0, -3.4e38, -3.4e38], [-3.4e38, 0.0, 0.0, -3.4e38], [-3.4e38, -3.4e38, 0.0, 0.0]]> : tensor<4x4xf32>
  %ahead = ds.constant dense<[[-3.4e38, -3.4e38, -3.4e38, 0.0, 0.0, -3.4e38], [-3.4e38, -3.4e38, -3.4e38, -3.4e38, 0.0, 0.0], [-3.4e38, -3.4e38, -3.4e38, -3.4e38, -3.4e38, 0.0], [-3.4e38, -3.4e38, -3.4e38, -3.4e38, -3.4e38, -3.4e38], [-3.4e38, -3.4e38, -3.4e38, -3.4e38, -3.4e38, -3.4e38], [-3.4e38, -3.4e38, -3.4e38, -3.4e38, -3.4e38, -3.4e38]]> : tensor<6x6xf32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x4x16xf32>) -> tensor<1x4x16x4xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x4x16xf32>, tensor<1x4x16x4xf32>) -> tensor<1x4x4x4xf32>
  %d = ds.binary div %s, %four : (tensor<1x4x4x4xf32>, tensor<f32>) -> tensor<1x4x4x4xf32>
  %m = ds.select %band, %d, %fill : (tensor<4x4xi1>, tensor<1x4x4x4xf32>, tensor<f32>) -> tensor<1x4x4x4xf32>
  // expected-remark @below {{raised to ds.attention (causal, window of 2 keys)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x4x4xf32>, tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32>
  %m2 = ds.binary add %d, %min : (tensor<1x4x4x4xf32>, tensor<4x4xf32>) -> tensor<1x4x4x4xf32>
  // expected-remark @below {{raised to ds.attention (causal, window of 2 keys)}}
  %p2 = ds.softmax %m2 {axis = 3 : i64} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %o2 = ds.matmul %p2, %v : (tensor<1x4x4x4xf32>, tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32>
  %kt6 = ds.transpose %k6 {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x6x16xf32>) -> tensor<1x4x16x6xf32>
  %s6 = ds.matmul %q6, %kt6 : (tensor<1x4x6x16xf32>, tensor<1x4x16x6xf32>) -> tensor<1x4x6x6xf32>
  %d6 = ds.binary div %s6, %four : (tensor<1x4x6x6xf32>, tensor<f32>) -> tensor<1x4x6x6xf32>
  %m3 = ds.binary add %d6, %ahead : (tensor<1x4x6x6xf32>, tensor<6x6xf32>) -> tensor<1x4x6x6xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p3 = ds.softmax %m3 {axis = 3 : i64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %o3 = ds.matmul %p3, %v6 : (tensor<1x4x6x6xf32>, tensor<1x4x6x16xf32>) -> tensor<1x4x6x16xf32>
  return %o, %o2, %o3 : tensor<1x4x4x16xf32>, tensor<1x4x4x16xf32>, tensor<1x4x6x16xf32>
}

// -----

// A selection plus a causal triangle filled with finfo.min: a row whose
// selected keys are all in the future keeps them at finfo.min (the graph
// averages them), where sparse attention would give 0. Left a mask.
// CHECK-LABEL: func.func @selection_with_finite_causal
// CHECK-NOT: ds.sparse_attention
// CHECK: ds.attention
func.func @selection_with_finite_causal(%q: tensor<1x4x3x16xf32>, %k: tensor<1x4x3x16xf32>, %v: tensor<1x4x3x16xf32>, %scores: tensor<1x3x3xf32>) -> tensor<1x4x3x16xf32> {
  %one = ds.constant dense<1> : tensor<1xi64>
  %top:2 = ds.topk %scores, %one {axis = -1 : i64, largest = true, sorted = true} : (tensor<1x3x3xf32>, tensor<1xi64>) -> (tensor<1x3x1xf32>, tensor<1x3x1xi64>)
  %ninf = ds.constant dense<0xFF800000> : tensor<1x3x3xf32>
  %zeros = ds.constant dense<0.0> : tensor<1x3x1xf32>
  %sel = ds.scatter_elements %ninf, %top#1, %zeros {axis = -1 : i64, reduction = 0 : i32} : (tensor<1x3x3xf32>, tensor<1x3x1xi64>, tensor<1x3x1xf32>) -> tensor<1x3x3xf32>
  %causal = ds.constant dense<[[0.0, -3.4e38, -3.4e38], [0.0, 0.0, -3.4e38], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %mask3 = ds.binary add %sel, %causal : (tensor<1x3x3xf32>, tensor<3x3xf32>) -> tensor<1x3x3xf32>
  %shape = ds.constant dense<[1, 1, 3, 3]> : tensor<4xi64>
  %mask = ds.reshape %mask3, %shape : (tensor<1x3x3xf32>, tensor<4xi64>) -> tensor<1x1x3x3xf32>
  %c4 = ds.constant dense<4.0> : tensor<f32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x3x16xf32>) -> tensor<1x4x16x3xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x3x16xf32>, tensor<1x4x16x3xf32>) -> tensor<1x4x3x3xf32>
  %d = ds.binary div %s, %c4 : (tensor<1x4x3x3xf32>, tensor<f32>) -> tensor<1x4x3x3xf32>
  %m = ds.binary add %d, %mask : (tensor<1x4x3x3xf32>, tensor<1x1x3x3xf32>) -> tensor<1x4x3x3xf32>
  // expected-remark @below {{raised to ds.attention (masked)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x3x3xf32>, tensor<1x4x3x16xf32>) -> tensor<1x4x3x16xf32>
  return %o : tensor<1x4x3x16xf32>
}

// -----

// Half folded: the causal compare over constant aranges, and-ed with the
// window's lower edge that folding made an i1 constant (j >= i - 1): a
// window of 2.
// CHECK-LABEL: func.func @band_half_folded
// CHECK: ds.attention %arg0, %arg1, %arg2 {is_causal, scale = 2.500000e-01 : f64, window = 2 : i64}
func.func @band_half_folded(%q: tensor<1x4x4x16xf32>, %k: tensor<1x4x4x16xf32>, %v: tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  %four = ds.constant dense<4.0> : tensor<f32>
  %zero = ds.constant dense<0.0> : tensor<f32>
  %fill = ds.constant dense<0xFF800000> : tensor<f32>
  %cols = ds.constant dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>
  %rows = ds.constant dense<[[0], [1], [2], [3]]> : tensor<4x1xi64>
  %lower = ds.constant dense<[[true, true, true, true], [true, true, true, true], [false, true, true, true], [false, false, true, true]]> : tensor<4x4xi1>
  %vis = ds.compare le %cols, %rows : (tensor<1x4xi64>, tensor<4x1xi64>) -> tensor<4x4xi1>
  %band = ds.binary and %vis, %lower : (tensor<4x4xi1>, tensor<4x4xi1>) -> tensor<4x4xi1>
  %mask = ds.select %band, %zero, %fill : (tensor<4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<4x4xf32>
  %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x4x16xf32>) -> tensor<1x4x16x4xf32>
  %s = ds.matmul %q, %kt : (tensor<1x4x4x16xf32>, tensor<1x4x16x4xf32>) -> tensor<1x4x4x4xf32>
  %d = ds.binary div %s, %four : (tensor<1x4x4x4xf32>, tensor<f32>) -> tensor<1x4x4x4xf32>
  %m = ds.binary add %d, %mask : (tensor<1x4x4x4xf32>, tensor<4x4xf32>) -> tensor<1x4x4x4xf32>
  // expected-remark @below {{raised to ds.attention (causal, window of 2 keys)}}
  %p = ds.softmax %m {axis = 3 : i64} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %o = ds.matmul %p, %v : (tensor<1x4x4x4xf32>, tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32>
  return %o : tensor<1x4x4x16xf32>
}
