// ds.dynamic_quantize on the CUDA backend (host-emulation.test): more
// elements than the block has threads, all-positive data (the range still
// includes 0), and NaN (skipped by the range, quantized to the zero point).
func.func @main(%x: tensor<7x300xf32> {ds.name = "x"})
    -> (tensor<7x300xui8> {ds.name = "y"}, tensor<f32> {ds.name = "scale"}, tensor<ui8> {ds.name = "zp"},
        tensor<7x300xui8> {ds.name = "y_pos"}, tensor<f32> {ds.name = "scale_pos"}, tensor<ui8> {ds.name = "zp_pos"},
        tensor<7x300xui8> {ds.name = "y_nan"}, tensor<f32> {ds.name = "scale_nan"}, tensor<ui8> {ds.name = "zp_nan"}) {
  %y, %s, %z = ds.dynamic_quantize %x : (tensor<7x300xf32>) -> (tensor<7x300xui8>, tensor<f32>, tensor<ui8>)
  %e = ds.unary exp %x : (tensor<7x300xf32>) -> tensor<7x300xf32>
  %y1, %s1, %z1 = ds.dynamic_quantize %e : (tensor<7x300xf32>) -> (tensor<7x300xui8>, tensor<f32>, tensor<ui8>)
  %r = ds.unary sqrt %x : (tensor<7x300xf32>) -> tensor<7x300xf32>
  %y2, %s2, %z2 = ds.dynamic_quantize %r : (tensor<7x300xf32>) -> (tensor<7x300xui8>, tensor<f32>, tensor<ui8>)
  return %y, %s, %z, %y1, %s1, %z1, %y2, %s2, %z2
      : tensor<7x300xui8>, tensor<f32>, tensor<ui8>, tensor<7x300xui8>, tensor<f32>, tensor<ui8>,
        tensor<7x300xui8>, tensor<f32>, tensor<ui8>
}
