// One small kernel, for host-emulation.test's check that a wrong result fails.
func.func @main(%x: tensor<4x8xf32> {ds.name = "x"}) -> (tensor<4x8xf32> {ds.name = "y"}) {
  %0 = ds.unary exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
