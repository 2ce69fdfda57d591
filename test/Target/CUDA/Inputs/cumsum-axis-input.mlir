// ds.cumsum whose axis is an input (an ONNX CumSum's axis fed at run time):
// the kernel loops along whichever axis the run gives (cuda_host_emulate.py
// --inputs feeds it).
func.func @main(%x: tensor<3x5xf32> {ds.name = "x"}, %axis: tensor<i64> {ds.name = "axis"}) -> (tensor<3x5xf32> {ds.name = "y"}) {
  %0 = ds.cumsum %x, %axis {axis = 0 : i64, exclusive = true, reverse = false} : (tensor<3x5xf32>, tensor<i64>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}
