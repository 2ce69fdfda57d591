// Integer ds.reduce on the CUDA backend (host-emulation.test), exact as the
// CPU kernel: i32 sums and products that wrap, i64 max / min / mean of
// negative values, sum_square and l1, u8 max, bool any / all (through u8, as the importer writes
// them), and empty rows
// (the type's lowest / highest value, a mean of 0), a u8 sum wrapped before
// a fused cast reads it.
func.func @main(%a: tensor<4x300xi32> {ds.name = "a"}, %b: tensor<3x50xi64> {ds.name = "b"},
                %c: tensor<5x9xui8> {ds.name = "c"}, %d: tensor<6x33xi1> {ds.name = "d"},
                %e: tensor<3x0xi32> {ds.name = "e"})
    -> (tensor<4xi32> {ds.name = "sum"}, tensor<4xi32> {ds.name = "prod"}, tensor<3x1xi64> {ds.name = "max"},
        tensor<3xi64> {ds.name = "min"}, tensor<3xi64> {ds.name = "mean"}, tensor<4xi32> {ds.name = "sum_square"},
        tensor<3xi64> {ds.name = "l1"}, tensor<5xui8> {ds.name = "u8max"}, tensor<6xi1> {ds.name = "any"},
        tensor<6xi1> {ds.name = "all"}, tensor<3xi32> {ds.name = "empty_max"}, tensor<3xi32> {ds.name = "empty_min"},
        tensor<3xi32> {ds.name = "empty_mean"}, tensor<5xf32> {ds.name = "u8sum_as_f32"}) {
  %big = ds.constant dense<19999999> : tensor<i32>
  %a2 = ds.binary mul %a, %big : (tensor<4x300xi32>, tensor<i32>) -> tensor<4x300xi32>
  %0 = ds.reduce sum %a2 {axes = array<i64: 1>, keepdims = false} : (tensor<4x300xi32>) -> tensor<4xi32>
  %1 = ds.reduce prod %a {axes = array<i64: 1>, keepdims = false} : (tensor<4x300xi32>) -> tensor<4xi32>
  %off = ds.constant dense<-700> : tensor<i64>
  %b2 = ds.binary add %b, %off : (tensor<3x50xi64>, tensor<i64>) -> tensor<3x50xi64>
  %2 = ds.reduce max %b2 {axes = array<i64: 1>, keepdims = true} : (tensor<3x50xi64>) -> tensor<3x1xi64>
  %3 = ds.reduce min %b2 {axes = array<i64: 1>, keepdims = false} : (tensor<3x50xi64>) -> tensor<3xi64>
  %4 = ds.reduce mean %b2 {axes = array<i64: 1>, keepdims = false} : (tensor<3x50xi64>) -> tensor<3xi64>
  %5 = ds.reduce sum_square %a2 {axes = array<i64: 1>, keepdims = false} : (tensor<4x300xi32>) -> tensor<4xi32>
  %6 = ds.reduce l1 %b2 {axes = array<i64: 1>, keepdims = false} : (tensor<3x50xi64>) -> tensor<3xi64>
  %7 = ds.reduce max %c {axes = array<i64: 1>, keepdims = false} : (tensor<5x9xui8>) -> tensor<5xui8>
  %du = ds.cast %d : tensor<6x33xi1> to tensor<6x33xui8>
  %m8 = ds.reduce max %du {axes = array<i64: 1>, keepdims = false} : (tensor<6x33xui8>) -> tensor<6xui8>
  %8 = ds.cast %m8 : tensor<6xui8> to tensor<6xi1>
  %m9 = ds.reduce min %du {axes = array<i64: 1>, keepdims = false} : (tensor<6x33xui8>) -> tensor<6xui8>
  %9 = ds.cast %m9 : tensor<6xui8> to tensor<6xi1>
  %10 = ds.reduce max %e {axes = array<i64: 1>, keepdims = false} : (tensor<3x0xi32>) -> tensor<3xi32>
  %11 = ds.reduce min %e {axes = array<i64: 1>, keepdims = false} : (tensor<3x0xi32>) -> tensor<3xi32>
  %12 = ds.reduce mean %e {axes = array<i64: 1>, keepdims = false} : (tensor<3x0xi32>) -> tensor<3xi32>
  %s8 = ds.reduce sum %c {axes = array<i64: 1>, keepdims = false} : (tensor<5x9xui8>) -> tensor<5xui8>
  %13 = ds.cast %s8 : tensor<5xui8> to tensor<5xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13
      : tensor<4xi32>, tensor<4xi32>, tensor<3x1xi64>, tensor<3xi64>, tensor<3xi64>, tensor<4xi32>,
        tensor<3xi64>, tensor<5xui8>, tensor<6xi1>, tensor<6xi1>, tensor<3xi32>, tensor<3xi32>, tensor<3xi32>,
        tensor<5xf32>
}
