// Attention with sizes bound per run (cuda_host_emulate.py --shape): queries,
// keys and batch are launch parameters, causal from the end (a decode step's
// offset is keys - queries), a bool padding mask [B, 1, 1, L] broadcast by
// strides computed from the sizes; f32 (FMA kernel) and f16 (tensor cores).
func.func @main(%q: tensor<?x4x?x32xf32> {ds.dim_symbols = ["batch", "", "queries", ""], ds.name = "q"},
                %k: tensor<?x2x?x32xf32> {ds.dim_symbols = ["batch", "", "keys", ""], ds.name = "k"},
                %v: tensor<?x2x?x32xf32> {ds.dim_symbols = ["batch", "", "keys", ""], ds.name = "v"},
                %m: tensor<?x1x1x?xi1> {ds.dim_symbols = ["batch", "", "", "keys"], ds.name = "m"})
    -> (tensor<?x4x?x32xf32> {ds.name = "y32"}, tensor<?x4x?x32xf32> {ds.name = "y16"}) {
  %0 = ds.attention %q, %k, %v, %m {is_causal, causal_from_end} : (tensor<?x4x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x1x1x?xi1>) -> tensor<?x4x?x32xf32>
  %qh = ds.cast %q : tensor<?x4x?x32xf32> to tensor<?x4x?x32xf16>
  %kh = ds.cast %k : tensor<?x2x?x32xf32> to tensor<?x2x?x32xf16>
  %vh = ds.cast %v : tensor<?x2x?x32xf32> to tensor<?x2x?x32xf16>
  %1 = ds.attention %qh, %kh, %vh, %m {is_causal, causal_from_end} : (tensor<?x4x?x32xf16>, tensor<?x2x?x32xf16>, tensor<?x2x?x32xf16>, tensor<?x1x1x?xi1>) -> tensor<?x4x?x32xf16>
  %2 = ds.cast %1 : tensor<?x4x?x32xf16> to tensor<?x4x?x32xf32>
  return %0, %2 : tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>
}
