// RUN: not ds-compile %s -o %t.dsx 2>&1 | FileCheck %s
// Dim symbols name every dim of the input; bounds a symbol gets from two
// inputs intersect and must leave a size.

// CHECK: error: artifact writer: ds.dim_symbols / ds.dim_bounds of input 'x' do not match its rank 2
func.func @main(%x: tensor<?x4xf32> {ds.name = "x", ds.dim_symbols = ["batch"]}) -> tensor<?x4xf32> {
  %0 = ds.unary relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
