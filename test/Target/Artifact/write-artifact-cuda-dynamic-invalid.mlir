// RUN: not ds-compile %s --target=cuda -o %t.dsx 2>&1 | FileCheck %s
// The CUDA backend takes sizes at launch when every dynamic dim is a sum of
// input dims; a size that only a run's data decides (a Reshape to a shape
// read from an input) is refused, and the error says how to bind it.

// CHECK: error: cuda: dim 0 of 'tensor<?x4xf32>' is not a sum of input dims (it depends on a value only a run knows); the CUDA backend takes sizes at launch only for those: bind the dynamic dims with --ds-input-shape
func.func @main(%x: tensor<?xf32> {ds.dim_symbols = ["n"]}, %shape: tensor<2xi64>) -> tensor<?x4xf32> {
  %0 = ds.reshape %x, %shape : (tensor<?xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
