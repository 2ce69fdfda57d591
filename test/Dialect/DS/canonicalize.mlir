// RUN: ds-opt %s --split-input-file --canonicalize | FileCheck %s
// Folding of constant shape arithmetic and the ds canonicalization patterns.

// CHECK-LABEL: func @shape_chain_folds
// The exporter pattern Shape -> Gather -> Concat -> Reshape folds to a constant shape.
func.func @shape_chain_folds(%x: tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32> {
  %s = ds.shape %x {end = 3 : i64, start = 0 : i64} : (tensor<2x16x64xf32>) -> tensor<3xi64>
  %i = ds.constant dense<[0, 1]> : tensor<2xi64>
  %bs = ds.gather %s, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %h = ds.constant dense<[4, 16]> : tensor<2xi64>
  %shape = ds.concat %bs, %h {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK: %[[S:.*]] = ds.constant dense<[2, 16, 4, 16]> : tensor<4xi64>
  // CHECK: ds.reshape %{{.*}}, %[[S]]
  %r = ds.reshape %x, %shape : (tensor<2x16x64xf32>, tensor<4xi64>) -> tensor<2x16x4x16xf32>
  return %r : tensor<2x16x4x16xf32>
}

// -----

// CHECK-LABEL: func @dynamic_shape_kept
// A `?` dim keeps the shape op for the runtime.
func.func @dynamic_shape_kept(%x: tensor<?x16xf32>) -> tensor<2xi64> {
  // CHECK: ds.shape
  %s = ds.shape %x {end = 2 : i64, start = 0 : i64} : (tensor<?x16xf32>) -> tensor<2xi64>
  return %s : tensor<2xi64>
}

// -----

// CHECK-LABEL: func @arith_folds
func.func @arith_folds() -> (tensor<2xi64>, tensor<f32>, tensor<2xi1>, tensor<i64>) {
  %a = ds.constant dense<[6, 7]> : tensor<2xi64>
  %b = ds.constant dense<2> : tensor<i64>
  %f = ds.constant dense<4.0> : tensor<f32>
  // CHECK-DAG: ds.constant dense<3> : tensor<2xi64>
  %0 = ds.binary div %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  // CHECK-DAG: ds.constant dense<2.000000e+00> : tensor<f32>
  %1 = ds.unary sqrt %f : (tensor<f32>) -> tensor<f32>
  // CHECK-DAG: ds.constant dense<true> : tensor<2xi1>
  %2 = ds.compare gt %a, %0 : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi1>
  // CHECK-DAG: ds.constant dense<42> : tensor<i64>
  %3 = ds.reduce prod %a {axes = array<i64: 0>, keepdims = false} : (tensor<2xi64>) -> tensor<i64>
  // CHECK-NOT: ds.binary
  // CHECK-NOT: ds.unary
  return %0, %1, %2, %3 : tensor<2xi64>, tensor<f32>, tensor<2xi1>, tensor<i64>
}

// -----

// CHECK-LABEL: func @integer_division_by_zero_is_not_folded
func.func @integer_division_by_zero_is_not_folded() -> tensor<i64> {
  %a = ds.constant dense<6> : tensor<i64>
  %b = ds.constant dense<0> : tensor<i64>
  // CHECK: ds.binary div
  %0 = ds.binary div %a, %b : (tensor<i64>, tensor<i64>) -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

// CHECK-LABEL: func @slice_and_cast_fold
func.func @slice_and_cast_fold() -> tensor<2xf32> {
  %a = ds.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
  %s = ds.constant dense<1> : tensor<1xi64>
  %e = ds.constant dense<3> : tensor<1xi64>
  %ax = ds.constant dense<0> : tensor<1xi64>
  %st = ds.constant dense<1> : tensor<1xi64>
  %0 = ds.slice %a, %s, %e, %ax, %st : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  // CHECK: ds.constant dense<[2.000000e+00, 3.000000e+00]> : tensor<2xf32>
  %1 = ds.cast %0 : tensor<2xi64> to tensor<2xf32>
  return %1 : tensor<2xf32>
}

// -----

// CHECK-LABEL: func @transposes_compose
func.func @transposes_compose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  // CHECK: ds.transpose %{{.*}} {perm = array<i64: 2, 0, 1>}
  // CHECK-NOT: ds.transpose
  %0 = ds.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %1 = ds.transpose %0 {perm = array<i64: 2, 1, 0>} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
  return %1 : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func @identity_transpose
func.func @identity_transpose(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NOT: ds.transpose
  %0 = ds.transpose %x {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// A constant read only by transposes (a Gemm's transB weight) is stored
// transposed: nothing left to transpose at run time, nothing duplicated.
// CHECK-LABEL: func @constant_transpose_folds
func.func @constant_transpose_folds(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  // CHECK: %[[W:.*]] = ds.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
  // CHECK-NOT: ds.transpose
  // CHECK: ds.matmul %arg0, %[[W]]
  %w = ds.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = ds.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %y = ds.matmul %x, %t : (tensor<1x3xf32>, tensor<3x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Rank 3 with a rotation of the dims: out[i, j, k] = in[j, k, i].
// CHECK-LABEL: func @constant_transpose_rank3
func.func @constant_transpose_rank3() -> tensor<2x1x3xf32> {
  // CHECK: ds.constant dense<{{\[}}{{\[}}[0.000000e+00, 2.000000e+00, 4.000000e+00]], {{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00]]]> : tensor<2x1x3xf32>
  // CHECK-NOT: ds.transpose
  %w = ds.constant dense<[[[0.0, 1.0]], [[2.0, 3.0]], [[4.0, 5.0]]]> : tensor<3x1x2xf32>
  %t = ds.transpose %w {perm = array<i64: 2, 1, 0>} : (tensor<3x1x2xf32>) -> tensor<2x1x3xf32>
  return %t : tensor<2x1x3xf32>
}

// -----

// 8-bit weights fold the same way (a QDQ Gemm's transB weights, once their
// dequantize moved after the transpose), and so do 2-byte elements.
// CHECK-LABEL: func @constant_transpose_of_bytes
func.func @constant_transpose_of_bytes() -> (tensor<3x2xi8>, tensor<3x2xf16>) {
  // CHECK-DAG: ds.constant dense<{{\[}}[1, -4], [2, 5], [-3, 6]]> : tensor<3x2xi8>
  // CHECK-DAG: ds.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf16>
  // CHECK-NOT: ds.transpose
  %w = ds.constant dense<[[1, 2, -3], [-4, 5, 6]]> : tensor<2x3xi8>
  %t = ds.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xi8>) -> tensor<3x2xi8>
  %h = ds.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf16>
  %u = ds.transpose %h {perm = array<i64: 1, 0>} : (tensor<2x3xf16>) -> tensor<3x2xf16>
  return %t, %u : tensor<3x2xi8>, tensor<3x2xf16>
}

// -----

// 4-bit codes are stored a byte each in a dense constant: they fold too;
// i1 (stored in bits) stays a transpose.
// CHECK-LABEL: func @constant_transpose_of_sub_bytes
func.func @constant_transpose_of_sub_bytes() -> (tensor<3x2xi4>, tensor<3x2xi1>) {
  // CHECK-DAG: ds.constant dense<{{\[}}[1, -4], [2, 5], [-3, 6]]> : tensor<3x2xi4>
  // CHECK-DAG: ds.transpose %{{.*}} : (tensor<2x3xi1>) -> tensor<3x2xi1>
  %w = ds.constant dense<[[1, 2, -3], [-4, 5, 6]]> : tensor<2x3xi4>
  %t = ds.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xi4>) -> tensor<3x2xi4>
  %b = ds.constant dense<[[true, false, true], [false, false, true]]> : tensor<2x3xi1>
  %u = ds.transpose %b {perm = array<i64: 1, 0>} : (tensor<2x3xi1>) -> tensor<3x2xi1>
  return %t, %u : tensor<3x2xi4>, tensor<3x2xi1>
}

// -----

// A constant with another reader stays as it is: folding would store it twice.
// CHECK-LABEL: func @shared_constant_transpose_stays
func.func @shared_constant_transpose_stays(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>) {
  // CHECK: ds.transpose
  %w = ds.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = ds.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %a = ds.binary add %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %t, %a : tensor<3x2xf32>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @reshapes_compose
func.func @reshapes_compose(%x: tensor<2x3x4xf32>) -> tensor<24xf32> {
  %s1 = ds.constant dense<[6, 4]> : tensor<2xi64>
  %s2 = ds.constant dense<[24]> : tensor<1xi64>
  // CHECK: ds.reshape %arg0
  // CHECK-NOT: ds.reshape
  %0 = ds.reshape %x, %s1 : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %1 = ds.reshape %0, %s2 : (tensor<6x4xf32>, tensor<1xi64>) -> tensor<24xf32>
  return %1 : tensor<24xf32>
}

// -----

// CHECK-LABEL: func @widening_casts_compose
func.func @widening_casts_compose(%x: tensor<4xf16>) -> tensor<4xf64> {
  // CHECK: ds.cast %arg0 : tensor<4xf16> to tensor<4xf64>
  %0 = ds.cast %x : tensor<4xf16> to tensor<4xf32>
  %1 = ds.cast %0 : tensor<4xf32> to tensor<4xf64>
  return %1 : tensor<4xf64>
}

// -----

// CHECK-LABEL: func @narrowing_casts_kept
// f32 -> f16 -> f32 rounds, so both casts stay.
func.func @narrowing_casts_kept(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: ds.cast
  // CHECK: ds.cast
  %0 = ds.cast %x : tensor<4xf32> to tensor<4xf16>
  %1 = ds.cast %0 : tensor<4xf16> to tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @fill_folds
func.func @fill_folds() -> tensor<2x3xf32> {
  %s = ds.constant dense<[2, 3]> : tensor<2xi64>
  // CHECK: ds.constant dense<1.500000e+00> : tensor<2x3xf32>
  %0 = ds.fill %s {value = dense<1.5> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @reduce_over_no_axis
// A plain reduction over no axis is the input; sum_square still squares.
func.func @reduce_over_no_axis(%x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  // CHECK: %[[SQ:.*]] = ds.reduce sum_square %arg0
  // CHECK: return %arg0, %[[SQ]]
  %0 = ds.reduce sum %x {axes = array<i64>, keepdims = false} : (tensor<f32>) -> tensor<f32>
  %1 = ds.reduce sum_square %x {axes = array<i64>, keepdims = false} : (tensor<f32>) -> tensor<f32>
  return %0, %1 : tensor<f32>, tensor<f32>
}

// -----

// CHECK-LABEL: func @batch_norm_folds_into_conv
// Per-channel scale and shift after a conv (inference BatchNorm) fold into its
// weights and bias.
func.func @batch_norm_folds_into_conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // CHECK-DAG: %[[W:.*]] = ds.constant dense<{{\[\[\[\[}}2.000000e+00]]], {{\[\[\[}}3.000000e+00]]]]> : tensor<2x1x1x1xf32>
  // CHECK-DAG: %[[B:.*]] = ds.constant dense<[2.500000e+00, 3.000000e+00]> : tensor<2xf32>
  // CHECK: %[[C:.*]] = ds.conv %arg0, %[[W]], %[[B]]
  // CHECK-NEXT: return %[[C]]
  %w = ds.constant dense<1.0> : tensor<2x1x1x1xf32>
  %b = ds.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %scale = ds.constant dense<[[[2.0]], [[3.0]]]> : tensor<2x1x1xf32>
  %shift = ds.constant dense<[[[0.5]], [[3.0]]]> : tensor<2x1x1xf32>
  %0 = ds.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %1 = ds.binary mul %0, %scale : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %2 = ds.binary add %1, %shift : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  return %2 : tensor<1x2x4x4xf32>
}

// -----

// CHECK-LABEL: func @spatial_scale_does_not_fold
// A constant that varies along a spatial dim is not per-channel: the mul stays.
func.func @spatial_scale_does_not_fold(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // CHECK: ds.conv
  // CHECK: ds.binary mul
  %w = ds.constant dense<1.0> : tensor<2x1x1x1xf32>
  %s = ds.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %0 = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %1 = ds.binary mul %0, %s : (tensor<1x2x4x4xf32>, tensor<4xf32>) -> tensor<1x2x4x4xf32>
  return %1 : tensor<1x2x4x4xf32>
}

// -----

// A ds.assert whose condition folds to true is the value it guards; one
// that a run decides (or a constant false) stays for the runtime.
// CHECK-LABEL: func @assert_folds_when_it_holds
// CHECK-SAME:  (%[[X:.*]]: tensor<3xi64>, %[[C:.*]]: tensor<2xi1>)
// CHECK:       %[[KEPT:.*]] = ds.assert %[[C]], %[[X]] {message = "at run time"}
// CHECK:       %[[FALSE:.*]] = ds.assert %{{.*}}, %[[X]] {message = "never holds"}
// CHECK:       return %[[X]], %[[KEPT]], %[[FALSE]]
func.func @assert_folds_when_it_holds(%x: tensor<3xi64>, %c: tensor<2xi1>) -> (tensor<3xi64>, tensor<3xi64>, tensor<3xi64>) {
  %t = ds.constant dense<true> : tensor<2xi1>
  %f = ds.constant dense<[true, false]> : tensor<2xi1>
  %0 = ds.assert %t, %x {message = "holds"} : (tensor<2xi1>, tensor<3xi64>) -> tensor<3xi64>
  %1 = ds.assert %c, %x {message = "at run time"} : (tensor<2xi1>, tensor<3xi64>) -> tensor<3xi64>
  %2 = ds.assert %f, %x {message = "never holds"} : (tensor<2xi1>, tensor<3xi64>) -> tensor<3xi64>
  return %0, %1, %2 : tensor<3xi64>, tensor<3xi64>, tensor<3xi64>
}

// -----

// The gradient of a three-way split: each slice's gradient padded back with
// zeros, the three summed. Side by side along the last axis, they become one
// concat, without a full-size pad and add per slice.
// CHECK-LABEL: func @split_gradient_is_a_concat
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<2x4xf32>, %[[C:.*]]: tensor<2x4xf32>)
// CHECK-NOT: ds.pad
// CHECK-NOT: ds.binary
// CHECK: %[[AB:.*]] = ds.concat %[[A]], %[[B]] {axis = 1 : i64}
// CHECK: %[[ABC:.*]] = ds.concat %[[AB]], %[[C]] {axis = 1 : i64}
// CHECK: return %[[ABC]]
func.func @split_gradient_is_a_concat(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %c: tensor<2x4xf32>) -> tensor<2x12xf32> {
  %zero = ds.constant dense<0.0> : tensor<f32>
  %pa = ds.constant dense<[0, 0, 0, 8]> : tensor<4xi64>
  %pb = ds.constant dense<[0, 4, 0, 4]> : tensor<4xi64>
  %pc = ds.constant dense<[0, 8, 0, 0]> : tensor<4xi64>
  %ga = ds.pad %a, %pa, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %gb = ds.pad %b, %pb, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %gc = ds.pad %c, %pc, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %s = ds.binary add %ga, %gb : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  %t = ds.binary add %s, %gc : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  return %t : tensor<2x12xf32>
}

// -----

// Pads given as i32 read the same.
// CHECK-LABEL: func @split_gradient_with_i32_pads
// CHECK-NOT: ds.pad
// CHECK: %[[AB:.*]] = ds.concat %arg0, %arg1 {axis = 0 : i64}
// CHECK: return %[[AB]]
func.func @split_gradient_with_i32_pads(%a: tensor<3x4xf32>, %b: tensor<5x4xf32>) -> tensor<8x4xf32> {
  %pa = ds.constant dense<[0, 0, 5, 0]> : tensor<4xi32>
  %pb = ds.constant dense<[3, 0, 0, 0]> : tensor<4xi32>
  %ga = ds.pad %a, %pa {mode = 0 : i32} : (tensor<3x4xf32>, tensor<4xi32>) -> tensor<8x4xf32>
  %gb = ds.pad %b, %pb {mode = 0 : i32} : (tensor<5x4xf32>, tensor<4xi32>) -> tensor<8x4xf32>
  %s = ds.binary add %gb, %ga : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %s : tensor<8x4xf32>
}

// -----

// Two of the three, in either operand order, stay padded where the third
// would be; regions that overlap, padding with a value other than zero, or
// placements that differ along a second axis are left alone.
// CHECK-LABEL: func @partial_split_gradient
// CHECK-DAG: %[[P:.*]] = ds.constant dense<[0, 0, 0, 4]> : tensor<4xi64>
// CHECK-DAG: %[[CB:.*]] = ds.concat %arg1, %arg0 {axis = 1 : i64}
// CHECK: ds.pad %[[CB]], %[[P]]
// CHECK-SAME: -> tensor<2x12xf32>
// CHECK-LABEL: func @overlapping_or_nonzero_pads_stay
// CHECK-NOT: ds.concat
// CHECK: ds.pad
// CHECK: ds.pad
// CHECK: ds.binary add
// CHECK: ds.pad
// CHECK: ds.pad
// CHECK: ds.binary add
// CHECK: ds.pad
// CHECK: ds.pad
// CHECK: ds.binary add
// CHECK-NOT: ds.concat
func.func @partial_split_gradient(%b: tensor<2x4xf32>, %a: tensor<2x4xf32>) -> tensor<2x12xf32> {
  %zero = ds.constant dense<0.0> : tensor<f32>
  %pa = ds.constant dense<[0, 0, 0, 8]> : tensor<4xi64>
  %pb = ds.constant dense<[0, 4, 0, 4]> : tensor<4xi64>
  %ga = ds.pad %a, %pa, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %gb = ds.pad %b, %pb, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %s = ds.binary add %gb, %ga : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  return %s : tensor<2x12xf32>
}
func.func @overlapping_or_nonzero_pads_stay(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> (tensor<2x12xf32>, tensor<2x12xf32>, tensor<4x12xf32>) {
  %zero = ds.constant dense<0.0> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  %pa = ds.constant dense<[0, 0, 0, 8]> : tensor<4xi64>
  %pover = ds.constant dense<[0, 2, 0, 6]> : tensor<4xi64>
  %pb = ds.constant dense<[0, 4, 0, 4]> : tensor<4xi64>
  %pa2 = ds.constant dense<[0, 0, 2, 8]> : tensor<4xi64>
  %pb2 = ds.constant dense<[2, 4, 0, 4]> : tensor<4xi64>
  %x1 = ds.pad %a, %pa, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %y1 = ds.pad %b, %pover, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %s1 = ds.binary add %x1, %y1 : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  %x2 = ds.pad %a, %pa, %one {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %y2 = ds.pad %b, %pb, %one {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x12xf32>
  %s2 = ds.binary add %x2, %y2 : (tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x12xf32>
  %x3 = ds.pad %a, %pa2, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x12xf32>
  %y3 = ds.pad %b, %pb2, %zero {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x12xf32>
  %s3 = ds.binary add %x3, %y3 : (tensor<4x12xf32>, tensor<4x12xf32>) -> tensor<4x12xf32>
  return %s1, %s2, %s3 : tensor<2x12xf32>, tensor<2x12xf32>, tensor<4x12xf32>
}
