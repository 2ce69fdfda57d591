// RUN: printf '# ds calibration table 1\nmethod=minmax samples=2\n-1 3 fc\n0 2 qkv\n-1 1 qkv#1\n' > %t.table
// RUN: ds-opt %s --split-input-file --ds-quantize-static="table=%t.table" --verify-diagnostics | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-quantize-static="table=%t.table exclude-nodes=fc,qkv" --verify-diagnostics | FileCheck %s --check-prefix=EXCLUDED

// The activation's range [-1, 3] gives scale 4/255 and zero point 64; the
// weights are quantized as by ds-quantize-dynamic, and the product's scale
// (4/255 x max |w| / 127 per column) is one constant.
// CHECK-LABEL: func @linear
// CHECK-SAME:  (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-DAG:   %[[SX:.*]] = ds.constant dense<0.0156862754> : tensor<f32>
// CHECK-DAG:   %[[ZX:.*]] = ds.constant dense<64> : tensor<ui8>
// CHECK-DAG:   %[[Q:.*]] = ds.quantize %[[X]], %[[SX]], %[[ZX]] {axis = 1 : i64, block_size = 0 : i64} : (tensor<3x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<3x2xui8>
// CHECK-DAG:   %[[W:.*]] = ds.constant dense<{{\[\[}}127, -64], [64, 127]]> : tensor<2x2xi8>
// CHECK-DAG:   %[[S:.*]] = ds.constant dense<[1.23513979E-4, 4.94055916E-4]> : tensor<2xf32>
// CHECK:       %[[I:.*]] = ds.matmul_integer %[[Q]], %[[W]] lhs_zero_point %[[ZX]] : (tensor<3x2xui8>, tensor<2x2xi8>, tensor<ui8>) -> tensor<3x2xi32>
// CHECK-NEXT:  %[[F:.*]] = ds.cast %[[I]] : tensor<3x2xi32> to tensor<3x2xf32>
// CHECK-NEXT:  %[[Y:.*]] = ds.binary mul %[[F]], %[[S]] : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT:  return %[[Y]]
// EXCLUDED-LABEL: func @linear
// EXCLUDED-NOT:   ds.quantize
// EXCLUDED:       ds.matmul %
func.func @linear(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %y = ds.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc")
  return %y : tensor<3x2xf32>
}

// -----

// Two matmuls of one activation (both named qkv: the second is qkv#1) share
// one quantize over the union of their ranges, [-1, 2]: scale 3/255, zero
// point 85.
// CHECK-LABEL: func @shared
// CHECK-DAG:   ds.constant dense<0.0117647061> : tensor<f32>
// CHECK-DAG:   ds.constant dense<85> : tensor<ui8>
// CHECK-COUNT-1: ds.quantize
// CHECK-NOT:   ds.quantize
// CHECK-COUNT-2: ds.matmul_integer
// EXCLUDED-LABEL: func @shared
// EXCLUDED-NOT:   ds.quantize
func.func @shared(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %wq = ds.constant dense<0.5> : tensor<8x8xf32>
  %wk = ds.constant dense<0.25> : tensor<8x8xf32>
  %q = ds.matmul %x, %wq : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("qkv")
  %k = ds.matmul %x, %wk : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("qkv")
  return %q, %k : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A matmul the table does not know stays f32, with a warning (unnamed, it is
// known as ds.matmul).
// CHECK-LABEL: func @unknown
// CHECK-NOT:   ds.quantize
// CHECK:       ds.matmul %
func.func @unknown(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = ds.constant dense<0.5> : tensor<8x8xf32>
  // expected-warning @below {{the calibration table has no range for 'ds.matmul': this matmul stays f32}}
  %y = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
