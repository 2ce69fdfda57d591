// One of each group kind in f32, f16 and bf16, for NVRTC to compile
// (nvrtc-all-kinds.test).
func.func @main(%x: tensor<4x64xf16>, %b: tensor<64xf16>, %g: tensor<64xbf16>, %xb: tensor<4x64xbf16>,
                %q: tensor<1x8x40x64xf16>, %k: tensor<1x2x48x64xf16>, %v: tensor<1x2x48x64xf16>,
                %qb: tensor<2x4x16x128xbf16>, %mb: tensor<2x1x1x16xi1>,
                %qf: tensor<1x2x16x32xf32>, %mf: tensor<16x16xf32>,
                %img: tensor<1x4x8x8xf16>, %dw: tensor<4x1x3x3xf16>,
                %ids: tensor<2x3xi64>, %m: tensor<4x64xi1>)
    -> (tensor<4x64xf16>, tensor<4x64xbf16>, tensor<1x8x40x64xf16>, tensor<2x4x16x128xbf16>,
        tensor<1x2x16x32xf32>, tensor<1x4x4x4xf16>, tensor<2x3x64xf16>, tensor<4x128xbf16>,
        tensor<4x64xf16>, tensor<4x1xf16>, tensor<4x64xf32>, tensor<4x64xf16>) {
  %0 = ds.binary add %x, %b : (tensor<4x64xf16>, tensor<64xf16>) -> tensor<4x64xf16>
  %1 = ds.unary gelu_tanh %0 : (tensor<4x64xf16>) -> tensor<4x64xf16>
  %2 = ds.norm rms %xb, %g {axis = 1 : i64, epsilon = 1.0e-06 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<4x64xbf16>, tensor<64xbf16>) -> tensor<4x64xbf16>
  %3 = ds.attention %q, %k, %v {is_causal, causal_offset = 8 : i64} : (tensor<1x8x40x64xf16>, tensor<1x2x48x64xf16>, tensor<1x2x48x64xf16>) -> tensor<1x8x40x64xf16>
  %4 = ds.attention %qb, %qb, %qb, %mb : (tensor<2x4x16x128xbf16>, tensor<2x4x16x128xbf16>, tensor<2x4x16x128xbf16>, tensor<2x1x1x16xi1>) -> tensor<2x4x16x128xbf16>
  %5 = ds.attention %qf, %qf, %qf, %mf {scale = 0.5 : f64, softcap = 30.0 : f64} : (tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<16x16xf32>) -> tensor<1x2x16x32xf32>
  %6 = ds.conv %img, %dw {dilations = array<i64: 1, 1>, group = 4 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf16>, tensor<4x1x3x3xf16>) -> tensor<1x4x4x4xf16>
  %7 = ds.gather %0, %ids {axis = 0 : i64} : (tensor<4x64xf16>, tensor<2x3xi64>) -> tensor<2x3x64xf16>
  %8 = ds.concat %2, %xb {axis = 1 : i64} : (tensor<4x64xbf16>, tensor<4x64xbf16>) -> tensor<4x128xbf16>
  %9 = ds.softmax %x {axis = 1 : i64} : (tensor<4x64xf16>) -> tensor<4x64xf16>
  %10 = ds.reduce max %x {axes = array<i64: 1>, keepdims = true} : (tensor<4x64xf16>) -> tensor<4x1xf16>
  %11 = ds.cast %x : tensor<4x64xf16> to tensor<4x64xf32>
  %12 = ds.select %m, %x, %0 : (tensor<4x64xi1>, tensor<4x64xf16>, tensor<4x64xf16>) -> tensor<4x64xf16>
  return %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12 : tensor<4x64xf16>, tensor<4x64xbf16>, tensor<1x8x40x64xf16>, tensor<2x4x16x128xbf16>, tensor<1x2x16x32xf32>, tensor<1x4x4x4xf16>, tensor<2x3x64xf16>, tensor<4x128xbf16>, tensor<4x64xf16>, tensor<4x1xf16>, tensor<4x64xf32>, tensor<4x64xf16>
}
