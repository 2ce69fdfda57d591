// The tensor-core (mma.sync) flash-attention kernel in bf16 against the CPU
// backend (host-emulation.test), f32 at the graph's edges: causal GQA with a
// KV-cache offset and a partial last tile, a bool padding mask, an additive
// mask with softcap and a value head dim unlike the key's; a sliding window of
// 5 keys with 3 sink keys, the diagonal counted from the last key.
func.func @main(%qf: tensor<1x4x40x64xf32> {ds.name = "q"}, %kf: tensor<1x2x48x64xf32> {ds.name = "k"},
                %vf: tensor<1x2x48x32xf32> {ds.name = "v"}, %m: tensor<1x1x1x48xi1> {ds.name = "m"},
                %af: tensor<40x48xf32> {ds.name = "a"})
    -> (tensor<1x4x40x32xf32> {ds.name = "causal"}, tensor<1x4x40x32xf32> {ds.name = "masked"},
        tensor<1x4x40x32xf32> {ds.name = "additive"}, tensor<1x4x40x32xf32> {ds.name = "window"}) {
  %q = ds.cast %qf : tensor<1x4x40x64xf32> to tensor<1x4x40x64xbf16>
  %k = ds.cast %kf : tensor<1x2x48x64xf32> to tensor<1x2x48x64xbf16>
  %v = ds.cast %vf : tensor<1x2x48x32xf32> to tensor<1x2x48x32xbf16>
  %a = ds.cast %af : tensor<40x48xf32> to tensor<40x48xbf16>
  %0 = ds.attention %q, %k, %v {is_causal, causal_offset = 8 : i64} : (tensor<1x4x40x64xbf16>, tensor<1x2x48x64xbf16>, tensor<1x2x48x32xbf16>) -> tensor<1x4x40x32xbf16>
  %1 = ds.attention %q, %k, %v, %m : (tensor<1x4x40x64xbf16>, tensor<1x2x48x64xbf16>, tensor<1x2x48x32xbf16>, tensor<1x1x1x48xi1>) -> tensor<1x4x40x32xbf16>
  %2 = ds.attention %q, %k, %v, %a {scale = 0.2 : f64, softcap = 5.0 : f64} : (tensor<1x4x40x64xbf16>, tensor<1x2x48x64xbf16>, tensor<1x2x48x32xbf16>, tensor<40x48xbf16>) -> tensor<1x4x40x32xbf16>
  %3 = ds.attention %q, %k, %v {is_causal, causal_from_end, window = 5 : i64, sink_tokens = 3 : i64} : (tensor<1x4x40x64xbf16>, tensor<1x2x48x64xbf16>, tensor<1x2x48x32xbf16>) -> tensor<1x4x40x32xbf16>
  %r0 = ds.cast %0 : tensor<1x4x40x32xbf16> to tensor<1x4x40x32xf32>
  %r1 = ds.cast %1 : tensor<1x4x40x32xbf16> to tensor<1x4x40x32xf32>
  %r2 = ds.cast %2 : tensor<1x4x40x32xbf16> to tensor<1x4x40x32xf32>
  %r3 = ds.cast %3 : tensor<1x4x40x32xbf16> to tensor<1x4x40x32xf32>
  return %r0, %r1, %r2, %r3 : tensor<1x4x40x32xf32>, tensor<1x4x40x32xf32>, tensor<1x4x40x32xf32>, tensor<1x4x40x32xf32>
}
