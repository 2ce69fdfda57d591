// NSA-style block selection on CUDA (host-emulation.test): the choice made in
// the kernel (summed queries against summed keys, ties to the lower block)
// and attention over the chosen, first and local key blocks, against the CPU
// backend. A prefill with GQA; a decode-like step after a cache, with
// softcap; a diagonal past the last key (every block a candidate, none
// local), also one past int (the emitter clamps it); blocks of one key;
// blocks of 64 with a partial last block; a diagonal before the first key
// (every row sees nothing: 0).
func.func @main(%q: tensor<1x4x100x32xf32> {ds.name = "q"}, %k: tensor<1x2x100x32xf32> {ds.name = "k"},
                %v: tensor<1x2x100x32xf32> {ds.name = "v"}, %qs: tensor<1x4x20x32xf32> {ds.name = "qs"},
                %q1: tensor<1x2x40x16xf32> {ds.name = "q1"}, %k1: tensor<1x2x40x16xf32> {ds.name = "k1"},
                %ql: tensor<2x2x50x32xf32> {ds.name = "ql"}, %kl: tensor<2x1x300x32xf32> {ds.name = "kl"},
                %vl: tensor<2x1x300x48xf32> {ds.name = "vl"})
    -> (tensor<1x4x100x32xf32> {ds.name = "prefill"}, tensor<1x4x20x32xf32> {ds.name = "decode"},
        tensor<1x4x20x32xf32> {ds.name = "past_keys"}, tensor<1x2x40x16xf32> {ds.name = "single"},
        tensor<2x2x50x48xf32> {ds.name = "long"}, tensor<1x4x20x32xf32> {ds.name = "past_int"},
        tensor<1x4x20x32xf32> {ds.name = "before_keys"}) {
  %0 = ds.attention %q, %k, %v {is_causal, select_blocks = 2 : i64, block_size = 8 : i64} : (tensor<1x4x100x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>) -> tensor<1x4x100x32xf32>
  %1 = ds.attention %qs, %k, %v {is_causal, causal_from_end, softcap = 5.0 : f64, select_blocks = 3 : i64, block_size = 16 : i64} : (tensor<1x4x20x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>) -> tensor<1x4x20x32xf32>
  %2 = ds.attention %qs, %k, %v {is_causal, causal_offset = 150 : i64, select_blocks = 2 : i64, block_size = 8 : i64} : (tensor<1x4x20x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>) -> tensor<1x4x20x32xf32>
  %3 = ds.attention %q1, %k1, %k1 {is_causal, select_blocks = 4 : i64, block_size = 1 : i64} : (tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>) -> tensor<1x2x40x16xf32>
  %4 = ds.attention %ql, %kl, %vl {is_causal, causal_from_end, select_blocks = 2 : i64, block_size = 64 : i64} : (tensor<2x2x50x32xf32>, tensor<2x1x300x32xf32>, tensor<2x1x300x48xf32>) -> tensor<2x2x50x48xf32>
  %5 = ds.attention %qs, %k, %v {is_causal, causal_offset = 4294967300 : i64, select_blocks = 3 : i64, block_size = 16 : i64} : (tensor<1x4x20x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>) -> tensor<1x4x20x32xf32>
  %6 = ds.attention %qs, %k, %v {is_causal, causal_offset = -150 : i64, select_blocks = 2 : i64, block_size = 8 : i64} : (tensor<1x4x20x32xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32>) -> tensor<1x4x20x32xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<1x4x100x32xf32>, tensor<1x4x20x32xf32>, tensor<1x4x20x32xf32>, tensor<1x2x40x16xf32>, tensor<2x2x50x48xf32>, tensor<1x4x20x32xf32>, tensor<1x4x20x32xf32>
}
