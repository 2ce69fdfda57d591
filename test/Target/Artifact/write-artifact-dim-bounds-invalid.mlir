// RUN: not ds-compile %s -o %t.dsx 2>&1 | FileCheck %s
// 'n' is 1..4 for x and 8..16 for y: no size satisfies both.

// CHECK: error: artifact writer: the bounds of dim 'n' leave no size (8..4)
func.func @main(%x: tensor<?xf32> {ds.name = "x", ds.dim_symbols = ["n"], ds.dim_bounds = array<i64: 1, 4>},
                %y: tensor<?xf32> {ds.name = "y", ds.dim_symbols = ["n"], ds.dim_bounds = array<i64: 8, 16>}) -> tensor<?xf32> {
  %0 = ds.binary add %x, %y : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
