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

// -----

// QDQ: a matmul of two dequantized 8-bit tensors becomes the exact integer
// product scaled once; the weight's per-column scales broadcast over the
// columns of the product.
// CHECK-LABEL: func @dequantized
// CHECK-SAME:  (%[[X:.*]]: tensor<4x8xui8>, %[[W:.*]]: tensor<8x3xi8>, %[[SX:.*]]: tensor<f32>, %[[ZX:.*]]: tensor<ui8>, %[[SW:.*]]: tensor<3xf32>)
// CHECK:       %[[I:.*]] = ds.matmul_integer %[[X]], %[[W]] lhs_zero_point %[[ZX]] : (tensor<4x8xui8>, tensor<8x3xi8>, tensor<ui8>) -> tensor<4x3xi32>
// CHECK-NEXT:  %[[F:.*]] = ds.cast %[[I]] : tensor<4x3xi32> to tensor<4x3xf32>
// CHECK-NEXT:  %[[S:.*]] = ds.binary mul %[[SX]], %[[SW]] : (tensor<f32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:  %[[Y:.*]] = ds.binary mul %[[F]], %[[S]] : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT:  return %[[Y]]
func.func @dequantized(%x: tensor<4x8xui8>, %w: tensor<8x3xi8>, %sx: tensor<f32>, %zx: tensor<ui8>, %sw: tensor<3xf32>) -> tensor<4x3xf32> {
  %a = ds.dequantize %x, %sx, %zx {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<4x8xf32>
  %b = ds.dequantize %w, %sw {axis = 1 : i64, block_size = 0 : i64} : (tensor<8x3xi8>, tensor<3xf32>) -> tensor<8x3xf32>
  %y = ds.matmul %a, %b : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Not folded: per-row scales on the lhs, per-row (axis 0) scales on the rhs,
// blocked dequantization.
// CHECK-LABEL: func @dequantized_not_folded
// CHECK-NOT:   ds.matmul_integer
// CHECK-COUNT-3: ds.matmul %
func.func @dequantized_not_folded(%x: tensor<4x8xui8>, %sr: tensor<4xf32>, %w: tensor<8x3xi8>, %sw: tensor<8xf32>,
                                  %s: tensor<f32>, %sb: tensor<4x2xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %rows = ds.dequantize %x, %sr {axis = 0 : i64, block_size = 0 : i64} : (tensor<4x8xui8>, tensor<4xf32>) -> tensor<4x8xf32>
  %a = ds.dequantize %x, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x8xui8>, tensor<f32>) -> tensor<4x8xf32>
  %b = ds.dequantize %w, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<8x3xi8>, tensor<f32>) -> tensor<8x3xf32>
  %wr = ds.dequantize %w, %sw {axis = 0 : i64, block_size = 0 : i64} : (tensor<8x3xi8>, tensor<8xf32>) -> tensor<8x3xf32>
  %blocked = ds.dequantize %x, %sb {axis = 1 : i64, block_size = 4 : i64} : (tensor<4x8xui8>, tensor<4x2xf32>) -> tensor<4x8xf32>
  %0 = ds.matmul %rows, %b : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %1 = ds.matmul %a, %wr : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %2 = ds.matmul %blocked, %b : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  return %0, %1, %2 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// A dequantized embedding table: the gather moves the 8-bit rows and only
// those are dequantized; a per-column dequantize stays before the gather.
// CHECK-LABEL: func @embedding
// CHECK:       %[[G:.*]] = ds.gather %arg0, %arg1 {axis = 0 : i64} : (tensor<1000x16xi8>, tensor<2x5xi64>) -> tensor<2x5x16xi8>
// CHECK-NEXT:  %[[D:.*]] = ds.dequantize %[[G]], %arg2 {{.*}} -> tensor<2x5x16xf32>
// CHECK:       ds.dequantize %arg0, %arg3 {{.*}} -> tensor<1000x16xf32>
// CHECK-NEXT:  ds.gather
func.func @embedding(%table: tensor<1000x16xi8>, %ids: tensor<2x5xi64>, %s: tensor<f32>, %sc: tensor<16xf32>)
    -> (tensor<2x5x16xf32>, tensor<2x5x16xf32>) {
  %t = ds.dequantize %table, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<1000x16xi8>, tensor<f32>) -> tensor<1000x16xf32>
  %0 = ds.gather %t, %ids {axis = 0 : i64} : (tensor<1000x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
  %c = ds.dequantize %table, %sc {axis = 1 : i64, block_size = 0 : i64} : (tensor<1000x16xi8>, tensor<16xf32>) -> tensor<1000x16xf32>
  %1 = ds.gather %c, %ids {axis = 0 : i64} : (tensor<1000x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
  return %0, %1 : tensor<2x5x16xf32>, tensor<2x5x16xf32>
}

// -----

// A Gemm with transB over per-row (per output channel) quantized weights:
// the transpose moves the 8-bit weights, the dequantize follows it with its
// axis moved to 1 (per column), and the matmul multiplies integers. A
// blocked dequantize stays before its transpose.
// CHECK-LABEL: func @transposed_weight
// CHECK-SAME:  (%[[X:.*]]: tensor<4x8xui8>, %[[S:.*]]: tensor<f32>, %[[W:.*]]: tensor<3x8xi8>, %[[SW:.*]]: tensor<3xf32>, %[[ZW:.*]]: tensor<3xi8>, %[[SB:.*]]: tensor<3x2xf32>)
// CHECK:       %[[T:.*]] = ds.transpose %[[W]] {perm = array<i64: 1, 0>} : (tensor<3x8xi8>) -> tensor<8x3xi8>
// CHECK:       ds.matmul_integer %[[X]], %[[T]] rhs_zero_point %[[ZW]]
// CHECK:       %[[B:.*]] = ds.dequantize %[[W]], %[[SB]] {axis = 1 : i64, block_size = 4 : i64}
// CHECK-NEXT:  ds.transpose %[[B]]
func.func @transposed_weight(%x: tensor<4x8xui8>, %s: tensor<f32>, %w: tensor<3x8xi8>, %sw: tensor<3xf32>, %zw: tensor<3xi8>,
                             %sb: tensor<3x2xf32>) -> (tensor<4x3xf32>, tensor<8x3xf32>) {
  %a = ds.dequantize %x, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x8xui8>, tensor<f32>) -> tensor<4x8xf32>
  %d = ds.dequantize %w, %sw, %zw {axis = 0 : i64, block_size = 0 : i64} : (tensor<3x8xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<3x8xf32>
  %t = ds.transpose %d {perm = array<i64: 1, 0>} : (tensor<3x8xf32>) -> tensor<8x3xf32>
  %y = ds.matmul %a, %t : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %b = ds.dequantize %w, %sb {axis = 1 : i64, block_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x2xf32>) -> tensor<3x8xf32>
  %bt = ds.transpose %b {perm = array<i64: 1, 0>} : (tensor<3x8xf32>) -> tensor<8x3xf32>
  return %y, %bt : tensor<4x3xf32>, tensor<8x3xf32>
}

// -----

// The axis follows the permutation: out dim j takes in dim perm[j], so
// scales on in dim 0 land on the out dim j with perm[j] = 0 (here 2). A
// dequantize with another reader stays where it is.
// CHECK-LABEL: func @transposed_rank3
// CHECK:       %[[T:.*]] = ds.transpose %arg0 {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xi8>) -> tensor<3x4x2xi8>
// CHECK-NEXT:  ds.dequantize %[[T]], %arg1 {axis = 2 : i64, block_size = 0 : i64}
// CHECK:       %[[D:.*]] = ds.dequantize %arg0, %arg1 {axis = 0 : i64
// CHECK-NEXT:  ds.transpose %[[D]]
func.func @transposed_rank3(%w: tensor<2x3x4xi8>, %s: tensor<2xf32>) -> (tensor<3x4x2xf32>, tensor<3x4x2xf32>, tensor<2x3x4xf32>) {
  %d = ds.dequantize %w, %s {axis = 0 : i64, block_size = 0 : i64} : (tensor<2x3x4xi8>, tensor<2xf32>) -> tensor<2x3x4xf32>
  %t = ds.transpose %d {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %e = ds.dequantize %w, %s {axis = 0 : i64, block_size = 0 : i64} : (tensor<2x3x4xi8>, tensor<2xf32>) -> tensor<2x3x4xf32>
  %u = ds.transpose %e {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  return %t, %u, %e : tensor<3x4x2xf32>, tensor<3x4x2xf32>, tensor<2x3x4xf32>
}

// -----

// A QDQ convolution (onnxruntime's quantize_static, per-channel weights)
// folds into conv_integer, scaled once per output channel (the product of
// the constant scales folded), bias added after.
// CHECK-LABEL: func @qdq_conv
// CHECK-SAME:  (%[[X:.*]]: tensor<1x2x5x5xui8>, %[[W:.*]]: tensor<3x2x3x3xi8>, %[[B:.*]]: tensor<3xf32>)
// CHECK-DAG:   %[[S3:.*]] = ds.constant dense<{{\[\[\[}}1.250000e-01]], {{\[\[}}6.250000e-02]], {{\[\[}}5.000000e-01]]]> : tensor<3x1x1xf32>
// CHECK:       %[[I:.*]] = ds.conv_integer %[[X]], %[[W]] input_zero_point %{{.*}} weight_zero_point %{{.*}} {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x2x5x5xui8>, tensor<3x2x3x3xi8>, tensor<ui8>, tensor<3xi8>) -> tensor<1x3x5x5xi32>
// CHECK:       %[[F:.*]] = ds.cast %[[I]] : tensor<1x3x5x5xi32> to tensor<1x3x5x5xf32>
// CHECK:       %[[Y:.*]] = ds.binary mul %[[F]], %[[S3]]
// CHECK:       %[[B3:.*]] = ds.reshape %[[B]], %{{.*}} : (tensor<3xf32>, tensor<3xi64>) -> tensor<3x1x1xf32>
// CHECK:       ds.binary add %[[Y]], %[[B3]]
// CHECK-NOT:   ds.conv %
func.func @qdq_conv(%x: tensor<1x2x5x5xui8>, %w: tensor<3x2x3x3xi8>, %b: tensor<3xf32>) -> tensor<1x3x5x5xf32> {
  %sx = ds.constant dense<0.5> : tensor<f32>
  %zx = ds.constant dense<128> : tensor<ui8>
  %sw = ds.constant dense<[0.25, 0.125, 1.0]> : tensor<3xf32>
  %zw = ds.constant dense<0> : tensor<3xi8>
  %xf = ds.dequantize %x, %sx, %zx {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x2x5x5xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x5x5xf32>
  %wf = ds.dequantize %w, %sw, %zw {axis = 0 : i64, block_size = 0 : i64} : (tensor<3x2x3x3xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<3x2x3x3xf32>
  %y = ds.conv %xf, %wf, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x5x5xf32>
  return %y : tensor<1x3x5x5xf32>
}

// -----

// Weights scaled per input channel (axis 1) are not a per-output scale: the
// convolution stays f32.
// CHECK-LABEL: func @conv_wrong_axis
// CHECK-NOT:   ds.conv_integer
// CHECK:       ds.conv %
func.func @conv_wrong_axis(%x: tensor<1x2x5x5xui8>, %w: tensor<3x2x3x3xi8>) -> tensor<1x3x3x3xf32> {
  %sx = ds.constant dense<0.5> : tensor<f32>
  %sw = ds.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %xf = ds.dequantize %x, %sx {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x2x5x5xui8>, tensor<f32>) -> tensor<1x2x5x5xf32>
  %wf = ds.dequantize %w, %sw {axis = 1 : i64, block_size = 0 : i64} : (tensor<3x2x3x3xi8>, tensor<2xf32>) -> tensor<3x2x3x3xf32>
  %y = ds.conv %xf, %wf {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// A QDQ max pool (dequantize, pool, quantize with the same scale and zero
// point) pools the 8-bit data; the quantize of the dequantized pool folds.
// CHECK-LABEL: func @qdq_max_pool
// CHECK:      %[[P:.*]] = ds.pool max %arg0 {{.*}} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
// CHECK-NOT:  ds.quantize
// CHECK:      return %[[P]]
func.func @qdq_max_pool(%q: tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8> {
  %s = ds.constant dense<0.05> : tensor<f32>
  %z = ds.constant dense<3> : tensor<ui8>
  %0 = ds.dequantize %q, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x8x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x8x8xf32>
  %1 = ds.pool max %0 {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  %2 = ds.quantize %1, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x4x4xui8>
  return %2 : tensor<1x4x4x4xui8>
}

// -----

// Not moved: a negative scale reverses the order; an average pool; pads
// as wide as the kernel (a window of padding alone). Moved but not folded:
// a requantization to another scale or zero point.
// CHECK-LABEL: func @qdq_pool_kept
// CHECK-COUNT-3: ds.pool {{.*}} -> tensor<{{.*}}xf32>
// CHECK:         ds.pool max %arg0 {{.*}} -> tensor<1x4x4x4xui8>
// CHECK-COUNT-2: ds.quantize
func.func @qdq_pool_kept(%q: tensor<1x4x8x8xui8>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x6x6xf32>, tensor<1x4x4x4xui8>, tensor<1x4x4x4xui8>) {
  %s = ds.constant dense<0.05> : tensor<f32>
  %n = ds.constant dense<-0.05> : tensor<f32>
  %s2 = ds.constant dense<0.1> : tensor<f32>
  %z = ds.constant dense<3> : tensor<ui8>
  %z2 = ds.constant dense<4> : tensor<ui8>
  %neg = ds.dequantize %q, %n, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x8x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x8x8xf32>
  %0 = ds.pool max %neg {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  %d = ds.dequantize %q, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x8x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x8x8xf32>
  %1 = ds.pool avg %d {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  %2 = ds.pool max %d {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 2, 2, 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x6x6xf32>
  %3 = ds.pool max %d {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  %4 = ds.quantize %3, %s2, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x4x4xui8>
  %5 = ds.quantize %3, %s, %z2 {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x4x4xui8>
  return %0, %1, %2, %4, %5 : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x6x6xf32>, tensor<1x4x4x4xui8>, tensor<1x4x4x4xui8>
}
