// ds.topk on the CUDA backend (host-emulation.test): rows longer than a
// block, many ties (the index digits decide), NaN and signed zeros, a
// non-trailing axis with k = R (a whole sort), smallest first, integer,
// f16 and f64 data, k = 1, only the indices used (the group still yields
// the values: the kernel writes both).
func.func @main(%x: tensor<6x300xf32> {ds.name = "x"}, %y: tensor<300x5xf32> {ds.name = "y"},
                %z: tensor<4x40xf64> {ds.name = "z"})
    -> (tensor<6x50xf32> {ds.name = "ties_v"}, tensor<6x50xi64> {ds.name = "ties_i"},
        tensor<300x5xf32> {ds.name = "nan_v"}, tensor<300x5xi64> {ds.name = "nan_i"},
        tensor<6x7xi64> {ds.name = "int_v"}, tensor<6x7xi64> {ds.name = "int_i"},
        tensor<6x1xf16> {ds.name = "half_v"}, tensor<6x1xi64> {ds.name = "half_i"},
        tensor<4x10xf64> {ds.name = "zero_v"}, tensor<4x10xi64> {ds.name = "zero_i"},
        tensor<6x9xi64> {ds.name = "only_i"}) {
  %three = ds.constant dense<3.0> : tensor<f32>
  %x3 = ds.binary mul %x, %three : (tensor<6x300xf32>, tensor<f32>) -> tensor<6x300xf32>
  %ties = ds.unary floor %x3 : (tensor<6x300xf32>) -> tensor<6x300xf32>
  %k50 = ds.constant dense<50> : tensor<1xi64>
  %v0, %i0 = ds.topk %ties, %k50 {axis = 1 : i64, largest = true, sorted = true} : (tensor<6x300xf32>, tensor<1xi64>) -> (tensor<6x50xf32>, tensor<6x50xi64>)
  %nan = ds.unary sqrt %y : (tensor<300x5xf32>) -> tensor<300x5xf32>
  %k300 = ds.constant dense<300> : tensor<1xi64>
  %v1, %i1 = ds.topk %nan, %k300 {axis = 0 : i64, largest = false, sorted = true} : (tensor<300x5xf32>, tensor<1xi64>) -> (tensor<300x5xf32>, tensor<300x5xi64>)
  %ints = ds.cast %ties : tensor<6x300xf32> to tensor<6x300xi64>
  %k7 = ds.constant dense<7> : tensor<1xi64>
  %v2, %i2 = ds.topk %ints, %k7 {axis = -1 : i64, largest = false, sorted = true} : (tensor<6x300xi64>, tensor<1xi64>) -> (tensor<6x7xi64>, tensor<6x7xi64>)
  %half = ds.cast %x : tensor<6x300xf32> to tensor<6x300xf16>
  %k1 = ds.constant dense<1> : tensor<1xi64>
  %v3, %i3 = ds.topk %half, %k1 {axis = 1 : i64, largest = true, sorted = true} : (tensor<6x300xf16>, tensor<1xi64>) -> (tensor<6x1xf16>, tensor<6x1xi64>)
  %zero = ds.constant dense<0.0> : tensor<f64>
  %zeros = ds.binary mul %z, %zero : (tensor<4x40xf64>, tensor<f64>) -> tensor<4x40xf64>
  %k10 = ds.constant dense<10> : tensor<1xi64>
  %v4, %i4 = ds.topk %zeros, %k10 {axis = 1 : i64, largest = true, sorted = true} : (tensor<4x40xf64>, tensor<1xi64>) -> (tensor<4x10xf64>, tensor<4x10xi64>)
  %k9 = ds.constant dense<9> : tensor<1xi64>
  %v5, %i5 = ds.topk %x, %k9 {axis = 1 : i64, largest = false, sorted = true} : (tensor<6x300xf32>, tensor<1xi64>) -> (tensor<6x9xf32>, tensor<6x9xi64>)
  return %v0, %i0, %v1, %i1, %v2, %i2, %v3, %i3, %v4, %i4, %i5
      : tensor<6x50xf32>, tensor<6x50xi64>, tensor<300x5xf32>, tensor<300x5xi64>, tensor<6x7xi64>,
        tensor<6x7xi64>, tensor<6x1xf16>, tensor<6x1xi64>, tensor<4x10xf64>, tensor<4x10xi64>,
        tensor<6x9xi64>
}
