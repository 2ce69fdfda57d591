// Attention whose mask is a constant that ds-fuse clones into the group (a
// score_mod bias as a splat, a small boolean pattern): the CUDA kernel reads
// it from a table (host-emulation.test).
func.func @main(%q: tensor<1x2x8x16xf32> {ds.name = "q"}, %k: tensor<1x2x8x16xf32> {ds.name = "k"},
                %v: tensor<1x2x8x16xf32> {ds.name = "v"})
    -> (tensor<1x2x8x16xf32> {ds.name = "biased"}, tensor<1x2x8x16xf32> {ds.name = "pattern"}) {
  %bias = ds.constant dense<5.000000e-01> : tensor<f32>
  %0 = ds.attention %q, %k, %v, %bias : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<f32>) -> tensor<1x2x8x16xf32>
  %keep = ds.constant dense<[[true, true, false, true, true, true, true, true], [false, true, true, true, true, true, false, false], [true, false, false, true, true, false, true, true], [false, true, true, false, true, false, true, true], [false, false, true, false, true, false, false, true], [false, false, false, false, true, false, false, true], [false, true, true, true, false, true, false, true], [true, true, false, true, true, false, false, true]]> : tensor<8x8xi1>
  %1 = ds.attention %q, %k, %v, %keep : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<8x8xi1>) -> tensor<1x2x8x16xf32>
  return %0, %1 : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}
