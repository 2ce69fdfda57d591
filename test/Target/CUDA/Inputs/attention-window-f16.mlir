// Sliding windows on the tensor-core (mma.sync) flash-attention kernel
// (host-emulation.test): a row block of 64 reads the key tiles of 64 holding
// sink keys, then those from its first row's window on, through the two
// shared buffers. 200 queries after a 60-key cache over 260 keys, window 70
// and 2 sinks: the block at row 128 reads tiles 0-3, the one at row 192
// tiles 0, 2, 3, 4 (the sink tile, then a jump); a window of 62 without sinks starts
// at the last key of a tile (blocks at rows 64 and 128); 70 sink keys span
// two tiles.
func.func @main(%q: tensor<1x2x200x64xf16> {ds.name = "q"}, %k: tensor<1x1x260x64xf16> {ds.name = "k"},
                %v: tensor<1x1x260x64xf16> {ds.name = "v"})
    -> (tensor<1x2x200x64xf16> {ds.name = "sinks"}, tensor<1x2x200x64xf16> {ds.name = "window"},
        tensor<1x2x200x64xf16> {ds.name = "wide_sinks"}) {
  %0 = ds.attention %q, %k, %v {is_causal, causal_from_end, window = 70 : i64, sink_tokens = 2 : i64} : (tensor<1x2x200x64xf16>, tensor<1x1x260x64xf16>, tensor<1x1x260x64xf16>) -> tensor<1x2x200x64xf16>
  %1 = ds.attention %q, %k, %v {is_causal, causal_from_end, window = 62 : i64} : (tensor<1x2x200x64xf16>, tensor<1x1x260x64xf16>, tensor<1x1x260x64xf16>) -> tensor<1x2x200x64xf16>
  %2 = ds.attention %q, %k, %v {is_causal, causal_from_end, window = 30 : i64, sink_tokens = 70 : i64} : (tensor<1x2x200x64xf16>, tensor<1x1x260x64xf16>, tensor<1x1x260x64xf16>) -> tensor<1x2x200x64xf16>
  return %0, %1, %2 : tensor<1x2x200x64xf16>, tensor<1x2x200x64xf16>, tensor<1x2x200x64xf16>
}
