// RUN: ds-opt %s --split-input-file --ds-fold-integer-matmul | FileCheck %s
// ds-fold-integer-matmul gives i32 matmuls of widened 8-bit tensors their
// 8-bit operands back, as one ds.matmul_integer.

// MatMulInteger as the importer writes it: u8 activations minus their zero
// point, s8 weights minus per-column zero points.
// CHECK-LABEL: func @matmul_integer
// CHECK-SAME:  (%[[X:.*]]: tensor<4x8xui8>, %[[ZX:.*]]: tensor<ui8>, %[[W:.*]]: tensor<8x3xi8>, %[[ZW:.*]]: tensor<3xi8>)
// CHECK-NEXT:  %[[Y:.*]] = ds.matmul_integer %[[X]], %[[W]] lhs_zero_point %[[ZX]] rhs_zero_point %[[ZW]] : (tensor<4x8xui8>, tensor<8x3xi8>, tensor<ui8>, tensor<3xi8>) -> tensor<4x3xi32>
// CHECK-NEXT:  return %[[Y]]
func.func @matmul_integer(%x: tensor<4x8xui8>, %zx: tensor<ui8>, %w: tensor<8x3xi8>, %zw: tensor<3xi8>) -> tensor<4x3xi32> {
  %a = ds.cast %x : tensor<4x8xui8> to tensor<4x8xi32>
  %za = ds.cast %zx : tensor<ui8> to tensor<i32>
  %sa = ds.binary sub %a, %za : (tensor<4x8xi32>, tensor<i32>) -> tensor<4x8xi32>
  %b = ds.cast %w : tensor<8x3xi8> to tensor<8x3xi32>
  %zb = ds.cast %zw : tensor<3xi8> to tensor<3xi32>
  %sb = ds.binary sub %b, %zb : (tensor<8x3xi32>, tensor<3xi32>) -> tensor<8x3xi32>
  %y = ds.matmul %sa, %sb : (tensor<4x8xi32>, tensor<8x3xi32>) -> tensor<4x3xi32>
  return %y : tensor<4x3xi32>
}

// -----

// Zero points that the canonicalizer folded into i32 constants: 0 is dropped,
// others are narrowed back to the 8-bit type; a [1] zero point becomes a scalar.
// CHECK-LABEL: func @constant_zero_points
// CHECK:       %[[Z:.*]] = ds.constant dense<-3> : tensor<i8>
// CHECK-NEXT:  ds.matmul_integer %arg0, %arg1 rhs_zero_point %[[Z]] : (tensor<2x4x8xui8>, tensor<8x3xi8>, tensor<i8>) -> tensor<2x4x3xi32>
func.func @constant_zero_points(%x: tensor<2x4x8xui8>, %w: tensor<8x3xi8>) -> tensor<2x4x3xi32> {
  %z0 = ds.constant dense<0> : tensor<i32>
  %z1 = ds.constant dense<-3> : tensor<1xi32>
  %a = ds.cast %x : tensor<2x4x8xui8> to tensor<2x4x8xi32>
  %sa = ds.binary sub %a, %z0 : (tensor<2x4x8xi32>, tensor<i32>) -> tensor<2x4x8xi32>
  %b = ds.cast %w : tensor<8x3xi8> to tensor<8x3xi32>
  %sb = ds.binary sub %b, %z1 : (tensor<8x3xi32>, tensor<1xi32>) -> tensor<8x3xi32>
  %y = ds.matmul %sa, %sb : (tensor<2x4x8xi32>, tensor<8x3xi32>) -> tensor<2x4x3xi32>
  return %y : tensor<2x4x3xi32>
}

// -----

// Left alone: a per-row lhs zero point, an i32 zero point outside the 8-bit
// range, a subtraction that broadcasts the data, an i32 matmul of i32 data.
// CHECK-LABEL: func @not_folded
// CHECK-NOT:   ds.matmul_integer
// CHECK-COUNT-4: ds.matmul %
// CHECK-NOT:   ds.matmul_integer
func.func @not_folded(%x: tensor<4x8xui8>, %zr: tensor<4x1xi32>, %w: tensor<8x3xi8>, %i: tensor<4x8xi32>, %v: tensor<8xui8>)
    -> (tensor<4x3xi32>, tensor<4x3xi32>, tensor<4x3xi32>, tensor<4x3xi32>) {
  %a = ds.cast %x : tensor<4x8xui8> to tensor<4x8xi32>
  %b = ds.cast %w : tensor<8x3xi8> to tensor<8x3xi32>
  %perRow = ds.binary sub %a, %zr : (tensor<4x8xi32>, tensor<4x1xi32>) -> tensor<4x8xi32>
  %0 = ds.matmul %perRow, %b : (tensor<4x8xi32>, tensor<8x3xi32>) -> tensor<4x3xi32>
  %big = ds.constant dense<300> : tensor<i32>
  %outOfRange = ds.binary sub %a, %big : (tensor<4x8xi32>, tensor<i32>) -> tensor<4x8xi32>
  %1 = ds.matmul %outOfRange, %b : (tensor<4x8xi32>, tensor<8x3xi32>) -> tensor<4x3xi32>
  %row = ds.cast %v : tensor<8xui8> to tensor<8xi32>
  %wide = ds.binary sub %row, %i : (tensor<8xi32>, tensor<4x8xi32>) -> tensor<4x8xi32>
  %2 = ds.matmul %wide, %b : (tensor<4x8xi32>, tensor<8x3xi32>) -> tensor<4x3xi32>
  %3 = ds.matmul %i, %b : (tensor<4x8xi32>, tensor<8x3xi32>) -> tensor<4x3xi32>
  return %0, %1, %2, %3 : tensor<4x3xi32>, tensor<4x3xi32>, tensor<4x3xi32>, tensor<4x3xi32>
}
