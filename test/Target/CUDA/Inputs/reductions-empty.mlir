// Empty tensors on the CUDA backend (host-emulation.test): a reduction over an
// empty axis gives each result its identity (0 for sum, -inf for max), and an
// empty result needs no kernel at all.
func.func @main(%x: tensor<2x0x4xf32> {ds.name = "x"})
    -> (tensor<2x1x4xf32> {ds.name = "sum"}, tensor<2x4xf32> {ds.name = "max"},
        tensor<2x0x4xf32> {ds.name = "exp"}) {
  %0 = ds.reduce sum %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x0x4xf32>) -> tensor<2x1x4xf32>
  %1 = ds.reduce max %x {axes = array<i64: 1>, keepdims = false} : (tensor<2x0x4xf32>) -> tensor<2x4xf32>
  %2 = ds.unary exp %x : (tensor<2x0x4xf32>) -> tensor<2x0x4xf32>
  return %0, %1, %2 : tensor<2x1x4xf32>, tensor<2x4xf32>, tensor<2x0x4xf32>
}
