// ds.sparse_attention on the CUDA backend (host-emulation.test, random
// indices in [0, 48) with --int-range 48, so lists hold repeats): a list
// shared by the heads of grouped KV heads, causal with a KV-cache offset, 40
// keys per list (two tiles of the gather); a list per head, not causal;
// causal counted from the last key with the value head dim unlike the key's;
// the same in f16 and bf16 (fp32 accumulation); small constant lists, which
// ds-fuse clones into the group (a table; a splat is a table of one).
func.func @main(%q: tensor<1x4x40x32xf32> {ds.name = "q"}, %k: tensor<1x2x48x32xf32> {ds.name = "k"},
                %v: tensor<1x2x48x16xf32> {ds.name = "v"}, %shared: tensor<1x1x40x40xi64> {ds.name = "shared"},
                %each: tensor<1x4x40x8xi64> {ds.name = "each"},
                %qs: tensor<1x2x4x16xf32> {ds.name = "qs"}, %ks: tensor<1x2x10x16xf32> {ds.name = "ks"})
    -> (tensor<1x4x40x16xf32> {ds.name = "causal"}, tensor<1x4x40x16xf32> {ds.name = "per_head"},
        tensor<1x4x40x16xf32> {ds.name = "from_end"}, tensor<1x4x40x16xf16> {ds.name = "half"},
        tensor<1x4x40x16xbf16> {ds.name = "bfloat"}, tensor<1x2x4x16xf32> {ds.name = "listed"},
        tensor<1x2x4x16xf32> {ds.name = "splat"}) {
  %0 = ds.sparse_attention %q, %k, %v, %shared {is_causal, causal_offset = 3 : i64} : (tensor<1x4x40x32xf32>, tensor<1x2x48x32xf32>, tensor<1x2x48x16xf32>, tensor<1x1x40x40xi64>) -> tensor<1x4x40x16xf32>
  %1 = ds.sparse_attention %q, %k, %v, %each {scale = 0.3 : f64} : (tensor<1x4x40x32xf32>, tensor<1x2x48x32xf32>, tensor<1x2x48x16xf32>, tensor<1x4x40x8xi64>) -> tensor<1x4x40x16xf32>
  %2 = ds.sparse_attention %q, %k, %v, %each {is_causal, causal_from_end} : (tensor<1x4x40x32xf32>, tensor<1x2x48x32xf32>, tensor<1x2x48x16xf32>, tensor<1x4x40x8xi64>) -> tensor<1x4x40x16xf32>
  %qh = ds.cast %q : tensor<1x4x40x32xf32> to tensor<1x4x40x32xf16>
  %kh = ds.cast %k : tensor<1x2x48x32xf32> to tensor<1x2x48x32xf16>
  %vh = ds.cast %v : tensor<1x2x48x16xf32> to tensor<1x2x48x16xf16>
  %3 = ds.sparse_attention %qh, %kh, %vh, %shared {is_causal} : (tensor<1x4x40x32xf16>, tensor<1x2x48x32xf16>, tensor<1x2x48x16xf16>, tensor<1x1x40x40xi64>) -> tensor<1x4x40x16xf16>
  %qb = ds.cast %q : tensor<1x4x40x32xf32> to tensor<1x4x40x32xbf16>
  %kb = ds.cast %k : tensor<1x2x48x32xf32> to tensor<1x2x48x32xbf16>
  %vb = ds.cast %v : tensor<1x2x48x16xf32> to tensor<1x2x48x16xbf16>
  %4 = ds.sparse_attention %qb, %kb, %vb, %each {is_causal} : (tensor<1x4x40x32xbf16>, tensor<1x2x48x32xbf16>, tensor<1x2x48x16xbf16>, tensor<1x4x40x8xi64>) -> tensor<1x4x40x16xbf16>
  %list = ds.constant dense<[[[[0, 9, 0], [3, 1, 2], [9, 8, 7], [5, 5, 4]]]]> : tensor<1x1x4x3xi64>
  %seven = ds.constant dense<7> : tensor<1x2x4x5xi64>
  %5 = ds.sparse_attention %qs, %ks, %ks, %list {is_causal, causal_offset = 6 : i64} : (tensor<1x2x4x16xf32>, tensor<1x2x10x16xf32>, tensor<1x2x10x16xf32>, tensor<1x1x4x3xi64>) -> tensor<1x2x4x16xf32>
  %6 = ds.sparse_attention %qs, %ks, %ks, %seven : (tensor<1x2x4x16xf32>, tensor<1x2x10x16xf32>, tensor<1x2x10x16xf32>, tensor<1x2x4x5xi64>) -> tensor<1x2x4x16xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>, tensor<1x4x40x16xf16>, tensor<1x4x40x16xbf16>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>
}
