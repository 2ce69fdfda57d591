// f32 in and out, f16 and bf16 inside: for the host emulation of the
// half-precision load / store / vector paths (host-emulation.test).
func.func @main(%x: tensor<4x64xf32> {ds.name = "x"}, %b: tensor<64xf32> {ds.name = "b"},
                %img: tensor<1x4x8x8xf32> {ds.name = "img"}, %w: tensor<4x1x3x3xf32> {ds.name = "w"},
                %q: tensor<1x4x40x64xf32> {ds.name = "q"}, %k: tensor<1x2x72x64xf32> {ds.name = "k"})
    -> (tensor<4x64xf32> {ds.name = "y0"}, tensor<4x64xf32> {ds.name = "y1"}, tensor<1x4x4x4xf32> {ds.name = "y2"},
        tensor<4x128xf32> {ds.name = "y3"}, tensor<1x4x40x64xf32> {ds.name = "y4"},
        tensor<1x4x40x64xf32> {ds.name = "y5"}) {
  %xh = ds.cast %x : tensor<4x64xf32> to tensor<4x64xf16>
  %bh = ds.cast %b : tensor<64xf32> to tensor<64xf16>
  %0 = ds.binary add %xh, %bh : (tensor<4x64xf16>, tensor<64xf16>) -> tensor<4x64xf16>
  %1 = ds.unary gelu %0 : (tensor<4x64xf16>) -> tensor<4x64xf16>
  %2 = ds.norm mean_var %1, %bh {axis = 1 : i64, epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<4x64xf16>, tensor<64xf16>) -> tensor<4x64xf16>
  %y0 = ds.cast %2 : tensor<4x64xf16> to tensor<4x64xf32>
  %xb = ds.cast %x : tensor<4x64xf32> to tensor<4x64xbf16>
  %3 = ds.softmax %xb {axis = 1 : i64} : (tensor<4x64xbf16>) -> tensor<4x64xbf16>
  %y1 = ds.cast %3 : tensor<4x64xbf16> to tensor<4x64xf32>
  %ih = ds.cast %img : tensor<1x4x8x8xf32> to tensor<1x4x8x8xf16>
  %wh = ds.cast %w : tensor<4x1x3x3xf32> to tensor<4x1x3x3xf16>
  %4 = ds.conv %ih, %wh {dilations = array<i64: 1, 1>, group = 4 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf16>, tensor<4x1x3x3xf16>) -> tensor<1x4x4x4xf16>
  %y2 = ds.cast %4 : tensor<1x4x4x4xf16> to tensor<1x4x4x4xf32>
  %5 = ds.concat %3, %xb {axis = 1 : i64} : (tensor<4x64xbf16>, tensor<4x64xbf16>) -> tensor<4x128xbf16>
  %y3 = ds.cast %5 : tensor<4x128xbf16> to tensor<4x128xf32>
  // The WMMA attention kernel: causal GQA in f16, plain in bf16 (72 keys: a
  // partial second tile).
  %qh = ds.cast %q : tensor<1x4x40x64xf32> to tensor<1x4x40x64xf16>
  %kh = ds.cast %k : tensor<1x2x72x64xf32> to tensor<1x2x72x64xf16>
  %6 = ds.attention %qh, %kh, %kh {is_causal, causal_offset = 32 : i64} : (tensor<1x4x40x64xf16>, tensor<1x2x72x64xf16>, tensor<1x2x72x64xf16>) -> tensor<1x4x40x64xf16>
  %y4 = ds.cast %6 : tensor<1x4x40x64xf16> to tensor<1x4x40x64xf32>
  %qb = ds.cast %q : tensor<1x4x40x64xf32> to tensor<1x4x40x64xbf16>
  %kb = ds.cast %k : tensor<1x2x72x64xf32> to tensor<1x2x72x64xbf16>
  %7 = ds.attention %qb, %kb, %kb : (tensor<1x4x40x64xbf16>, tensor<1x2x72x64xbf16>, tensor<1x2x72x64xbf16>) -> tensor<1x4x40x64xbf16>
  %y5 = ds.cast %7 : tensor<1x4x40x64xbf16> to tensor<1x4x40x64xf32>
  return %y0, %y1, %y2, %y3, %y4, %y5 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<1x4x4x4xf32>, tensor<4x128xf32>, tensor<1x4x40x64xf32>, tensor<1x4x40x64xf32>
}
