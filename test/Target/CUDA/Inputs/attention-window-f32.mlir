// Sliding windows on the FMA flash-attention kernel (host-emulation.test): key
// tiles of 32 before a row block's window that hold no sink key are skipped.
// 150 queries after a 20-key cache over 170 keys: the last row blocks skip
// tiles 1 and 2 and keep tile 0 for its sink keys; a window of 22 with no
// sinks starts at the last key of a tile for the block at row 128; a window of 64 ending at a diagonal 8 keys in
// (the first blocks' windows start before key 0).
func.func @main(%q: tensor<1x2x150x32xf32> {ds.name = "q"}, %k: tensor<1x1x170x32xf32> {ds.name = "k"},
                %v: tensor<1x1x170x32xf32> {ds.name = "v"})
    -> (tensor<1x2x150x32xf32> {ds.name = "sinks"}, tensor<1x2x150x32xf32> {ds.name = "window"},
        tensor<1x2x150x32xf32> {ds.name = "offset"}) {
  %0 = ds.attention %q, %k, %v {is_causal, causal_from_end, window = 40 : i64, sink_tokens = 3 : i64} : (tensor<1x2x150x32xf32>, tensor<1x1x170x32xf32>, tensor<1x1x170x32xf32>) -> tensor<1x2x150x32xf32>
  %1 = ds.attention %q, %k, %v {is_causal, causal_from_end, window = 22 : i64} : (tensor<1x2x150x32xf32>, tensor<1x1x170x32xf32>, tensor<1x1x170x32xf32>) -> tensor<1x2x150x32xf32>
  %2 = ds.attention %q, %k, %v {is_causal, causal_offset = 8 : i64, window = 64 : i64, sink_tokens = 40 : i64} : (tensor<1x2x150x32xf32>, tensor<1x1x170x32xf32>, tensor<1x1x170x32xf32>) -> tensor<1x2x150x32xf32>
  return %0, %1, %2 : tensor<1x2x150x32xf32>, tensor<1x2x150x32xf32>, tensor<1x2x150x32xf32>
}
