// Reductions and softmax over non-trailing axes (host-emulation.test):
// ds-compile --target=cuda moves the axes last (--ds-cuda-trailing-reductions).
func.func @main(%x: tensor<6x5x7xf32> {ds.name = "x"})
    -> (tensor<5x7xf32> {ds.name = "sum0"}, tensor<1x5x1xf32> {ds.name = "max02"},
        tensor<6x7xf32> {ds.name = "mean1"}, tensor<6x5x7xf32> {ds.name = "softmax0"},
        tensor<6x5x7xf32> {ds.name = "logsoftmax1"}) {
  %0 = ds.reduce sum %x {axes = array<i64: 0>, keepdims = false} : (tensor<6x5x7xf32>) -> tensor<5x7xf32>
  %1 = ds.reduce max %x {axes = array<i64: 0, 2>, keepdims = true} : (tensor<6x5x7xf32>) -> tensor<1x5x1xf32>
  %2 = ds.reduce mean %x {axes = array<i64: 1>, keepdims = false} : (tensor<6x5x7xf32>) -> tensor<6x7xf32>
  %3 = ds.softmax %x {axis = 0 : i64} : (tensor<6x5x7xf32>) -> tensor<6x5x7xf32>
  %4 = ds.softmax %x {axis = 1 : i64, log} : (tensor<6x5x7xf32>) -> tensor<6x5x7xf32>
  return %0, %1, %2, %3, %4 : tensor<5x7xf32>, tensor<1x5x1xf32>, tensor<6x7xf32>, tensor<6x5x7xf32>, tensor<6x5x7xf32>
}
