// The tensor-core (mma.sync) flash-attention kernel over several key tiles
// and query blocks (host-emulation.test): 200 keys are four tiles of 64 (the
// last one partial) streamed through the two shared buffers, 130 queries are
// three row blocks; head dim 128, GQA; causal from the last key, and a bool
// mask without causality.
func.func @main(%q: tensor<1x2x130x128xf16> {ds.name = "q"}, %k: tensor<1x1x200x128xf16> {ds.name = "k"},
                %v: tensor<1x1x200x128xf16> {ds.name = "v"}, %m: tensor<1x1x1x200xi1> {ds.name = "m"})
    -> (tensor<1x2x130x128xf16> {ds.name = "causal"}, tensor<1x2x130x128xf16> {ds.name = "masked"}) {
  %0 = ds.attention %q, %k, %v {is_causal, causal_from_end} : (tensor<1x2x130x128xf16>, tensor<1x1x200x128xf16>, tensor<1x1x200x128xf16>) -> tensor<1x2x130x128xf16>
  %1 = ds.attention %q, %k, %v, %m : (tensor<1x2x130x128xf16>, tensor<1x1x200x128xf16>, tensor<1x1x200x128xf16>, tensor<1x1x1x200xi1>) -> tensor<1x2x130x128xf16>
  return %0, %1 : tensor<1x2x130x128xf16>, tensor<1x2x130x128xf16>
}
