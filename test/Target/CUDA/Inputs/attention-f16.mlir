// The tensor-core (mma.sync) flash-attention kernel in f16 against the CPU
// backend (host-emulation.test):
// causal GQA with a KV-cache offset and a partial last tile, a bool padding
// mask, an additive mask with softcap and a value head dim unlike the key's;
// a sliding window of 5 keys with 3 sink keys, the diagonal counted from the
// last key.
func.func @main(%q: tensor<1x4x40x64xf16> {ds.name = "q"}, %k: tensor<1x2x48x64xf16> {ds.name = "k"},
                %v: tensor<1x2x48x32xf16> {ds.name = "v"}, %m: tensor<1x1x1x48xi1> {ds.name = "m"},
                %a: tensor<40x48xf16> {ds.name = "a"})
    -> (tensor<1x4x40x32xf16> {ds.name = "causal"}, tensor<1x4x40x32xf16> {ds.name = "masked"},
        tensor<1x4x40x32xf16> {ds.name = "additive"}, tensor<1x4x40x32xf16> {ds.name = "window"}) {
  %0 = ds.attention %q, %k, %v {is_causal, causal_offset = 8 : i64} : (tensor<1x4x40x64xf16>, tensor<1x2x48x64xf16>, tensor<1x2x48x32xf16>) -> tensor<1x4x40x32xf16>
  %1 = ds.attention %q, %k, %v, %m : (tensor<1x4x40x64xf16>, tensor<1x2x48x64xf16>, tensor<1x2x48x32xf16>, tensor<1x1x1x48xi1>) -> tensor<1x4x40x32xf16>
  %2 = ds.attention %q, %k, %v, %a {scale = 0.2 : f64, softcap = 5.0 : f64} : (tensor<1x4x40x64xf16>, tensor<1x2x48x64xf16>, tensor<1x2x48x32xf16>, tensor<40x48xf16>) -> tensor<1x4x40x32xf16>
  %3 = ds.attention %q, %k, %v {is_causal, causal_from_end, window = 5 : i64, sink_tokens = 3 : i64} : (tensor<1x4x40x64xf16>, tensor<1x2x48x64xf16>, tensor<1x2x48x32xf16>) -> tensor<1x4x40x32xf16>
  return %0, %1, %2, %3 : tensor<1x4x40x32xf16>, tensor<1x4x40x32xf16>, tensor<1x4x40x32xf16>, tensor<1x4x40x32xf16>
}
