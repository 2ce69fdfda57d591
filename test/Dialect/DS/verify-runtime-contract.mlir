// RUN: ds-opt --ds-verify-runtime-contract=dialect=true --split-input-file %s 2>&1 | FileCheck %s
// The ds dialect's ODS attributes (names, the kind the writer stores, unit
// attributes optional, enum spellings) agree with ds_op_attributes.def, and
// ops with the attributes the compiler gives them pass unchanged.

// Diagnostics (stderr) come first: one remark per split.
// CHECK-COUNT-2: remark: contract: 51 ops, 123 attributes, consistent
// CHECK-NOT: error
// CHECK-LABEL: func.func @ops_as_compiled
// CHECK: ds.softmax
// CHECK: ds.pool max
// CHECK: ds.scatter_nd
func.func @ops_as_compiled(%x: tensor<1x2x4x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>, tensor<1x2x4x4xf32>) {
  %0 = ds.softmax %x {axis = -1 : i64, log} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %1 = ds.pool max %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>,
         kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
       : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %2 = ds.scatter_nd %x, %i, %u {reduction = 1 : i32} : (tensor<1x2x4x4xf32>, tensor<2x1xi64>, tensor<2x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %0, %1, %2 : tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>, tensor<1x2x4x4xf32>
}

// -----

// Unset optional attributes (alpha / beta, unit attributes) are fine.
// CHECK-LABEL: func.func @optional_absent
func.func @optional_absent(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf16>) {
  %0 = ds.unary relu %x : (tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.cast %x : tensor<4xf32> to tensor<4xf16>
  return %0, %1 : tensor<4xf32>, tensor<4xf16>
}
