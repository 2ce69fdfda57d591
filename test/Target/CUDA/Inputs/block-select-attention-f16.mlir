// Block selection on CUDA in f16 and bf16 (host-emulation.test): tiles staged
// as float, the choice from float sums of the half values.
func.func @main(%q: tensor<1x4x60x32xf16> {ds.name = "q"}, %k: tensor<1x2x60x32xf16> {ds.name = "k"},
                %qb: tensor<1x2x70x64xbf16> {ds.name = "qb"}, %kb: tensor<1x2x90x64xbf16> {ds.name = "kb"})
    -> (tensor<1x4x60x32xf16> {ds.name = "f16"}, tensor<1x2x70x64xbf16> {ds.name = "bf16"}) {
  %0 = ds.attention %q, %k, %k {is_causal, select_blocks = 2 : i64, block_size = 8 : i64} : (tensor<1x4x60x32xf16>, tensor<1x2x60x32xf16>, tensor<1x2x60x32xf16>) -> tensor<1x4x60x32xf16>
  %1 = ds.attention %qb, %kb, %kb {is_causal, causal_from_end, select_blocks = 1 : i64, block_size = 16 : i64} : (tensor<1x2x70x64xbf16>, tensor<1x2x90x64xbf16>, tensor<1x2x90x64xbf16>) -> tensor<1x2x70x64xbf16>
  return %0, %1 : tensor<1x4x60x32xf16>, tensor<1x2x70x64xbf16>
}
