// A batched matmul whose operands broadcast in part against the 3x2 batch
// (--ds-cuda-expand-gemm-batch expands both for cuBLASLt's strided batches).
func.func @main(%a: tensor<3x1x5x4xf32> {ds.name = "a"}, %b: tensor<2x4x6xf32> {ds.name = "b"})
    -> (tensor<3x2x5x6xf32> {ds.name = "c"}) {
  %0 = ds.matmul %a, %b : (tensor<3x1x5x4xf32>, tensor<2x4x6xf32>) -> tensor<3x2x5x6xf32>
  return %0 : tensor<3x2x5x6xf32>
}
