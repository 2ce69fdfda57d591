// ds.cumsum on the CUDA backend (host-emulation.test): inclusive and
// exclusive, forward and reverse, sum and product, over the last and a
// leading axis, a fused producer, and int64 positions from a mask
// (cumsum(mask) - 1, as decoders compute position ids).
func.func @main(%x: tensor<3x7xf32> {ds.name = "x"}, %m: tensor<2x9xi64> {ds.name = "m"})
    -> (tensor<3x7xf32> {ds.name = "inclusive"}, tensor<3x7xf32> {ds.name = "exclusive_reverse"},
        tensor<3x7xf32> {ds.name = "product0"}, tensor<3x7xf32> {ds.name = "of_exp"},
        tensor<2x9xi64> {ds.name = "positions"}) {
  %0 = ds.cumsum %x {axis = 1 : i64, exclusive = false, reverse = false} : (tensor<3x7xf32>) -> tensor<3x7xf32>
  %1 = ds.cumsum %x {axis = 1 : i64, exclusive = true, reverse = true} : (tensor<3x7xf32>) -> tensor<3x7xf32>
  %2 = ds.cumsum %x {axis = 0 : i64, exclusive = false, reverse = false, product} : (tensor<3x7xf32>) -> tensor<3x7xf32>
  %e = ds.unary exp %x : (tensor<3x7xf32>) -> tensor<3x7xf32>
  %3 = ds.cumsum %e {axis = 1 : i64, exclusive = false, reverse = true} : (tensor<3x7xf32>) -> tensor<3x7xf32>
  %one = ds.constant dense<1> : tensor<i64>
  %c = ds.cumsum %m {axis = 1 : i64, exclusive = false, reverse = false} : (tensor<2x9xi64>) -> tensor<2x9xi64>
  %4 = ds.binary sub %c, %one : (tensor<2x9xi64>, tensor<i64>) -> tensor<2x9xi64>
  return %0, %1, %2, %3, %4 : tensor<3x7xf32>, tensor<3x7xf32>, tensor<3x7xf32>, tensor<3x7xf32>, tensor<2x9xi64>
}
