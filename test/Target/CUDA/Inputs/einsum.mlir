// ds.einsum on the CUDA backend: an outer product (rotary frequencies), a
// batched contraction and a diagonal (a label repeated in one operand).
func.func @main(%p: tensor<7xf32> {ds.name = "p"}, %f: tensor<8xf32> {ds.name = "f"},
                %a: tensor<2x3x4xf32> {ds.name = "a"}, %b: tensor<2x4x5xf32> {ds.name = "b"},
                %s: tensor<5x5xf32> {ds.name = "s"})
    -> (tensor<7x8xf32> {ds.name = "outer"}, tensor<2x3x5xf32> {ds.name = "bmm"}, tensor<5xf32> {ds.name = "diag"}) {
  %0 = ds.einsum %p, %f {equation = "i,j->ij"} : (tensor<7xf32>, tensor<8xf32>) -> tensor<7x8xf32>
  %1 = ds.einsum %a, %b {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %2 = ds.einsum %s {equation = "ii->i"} : (tensor<5x5xf32>) -> tensor<5xf32>
  return %0, %1, %2 : tensor<7x8xf32>, tensor<2x3x5xf32>, tensor<5xf32>
}
