// ds.arg_reduce and ds.gather_elements on the CUDA backend
// (host-emulation.test): argmax / argmin over either axis, keepdims or not,
// the first or last extreme, NaN winning as on the CPU backend (rows 1 and 3
// hold NaNs, row 3 two of them); gather_elements with negative indices.
func.func @main(%x: tensor<4x6xf32> {ds.name = "x"})
    -> (tensor<4xi64> {ds.name = "argmax1"}, tensor<4x1xi64> {ds.name = "argmax1_last"},
        tensor<1x6xi64> {ds.name = "argmin0_last"}, tensor<4x2xf32> {ds.name = "gathered"}) {
  %nan = ds.constant dense<[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0x7FC00000, 0.0, 0.0, 0.0],
                            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0x7FC00000, 0.0, 0.0, 0.0, 0x7FC00000, 0.0]]> : tensor<4x6xf32>
  %y = ds.binary add %x, %nan : (tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<4x6xf32>
  %0 = ds.arg_reduce argmax %y {axis = 1 : i64, keepdims = false, select_last_index = false} : (tensor<4x6xf32>) -> tensor<4xi64>
  %1 = ds.arg_reduce argmax %y {axis = 1 : i64, keepdims = true, select_last_index = true} : (tensor<4x6xf32>) -> tensor<4x1xi64>
  %2 = ds.arg_reduce argmin %x {axis = 0 : i64, keepdims = true, select_last_index = true} : (tensor<4x6xf32>) -> tensor<1x6xi64>
  %i = ds.constant dense<[[0, -1], [5, 2], [-6, 3], [1, 1]]> : tensor<4x2xi64>
  %3 = ds.gather_elements %x, %i {axis = 1 : i64} : (tensor<4x6xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
  return %0, %1, %2, %3 : tensor<4xi64>, tensor<4x1xi64>, tensor<1x6xi64>, tensor<4x2xf32>
}
