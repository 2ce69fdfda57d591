// RUN: ds-opt %s --split-input-file | ds-opt --split-input-file | FileCheck %s
// Round trip of every ds op through the printer and parser.

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x3xi1>) -> tensor<2x3xf32> {
  // CHECK: ds.unary erf
  %0 = ds.unary erf %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: ds.unary leaky_relu {{.*}}alpha = 1.000000e-01
  %1 = ds.unary leaky_relu %0 {alpha = 0.1 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: ds.unary is_nan {{.*}} -> tensor<2x3xi1>
  %2 = ds.unary is_nan %1 : (tensor<2x3xf32>) -> tensor<2x3xi1>
  // CHECK: ds.binary add {{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = ds.binary add %1, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: ds.compare lt
  %4 = ds.compare lt %3, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: ds.binary and
  %5 = ds.binary and %4, %c : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: ds.select
  %6 = ds.select %5, %3, %a : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: ds.cast {{.*}} : tensor<2x3xf32> to tensor<2x3xf16>
  %7 = ds.cast %6 : tensor<2x3xf32> to tensor<2x3xf16>
  // CHECK: ds.cast {{.*}} {saturate} : tensor<2x3xf16> to tensor<2x3xf8E4M3FN>
  %8 = ds.cast %7 {saturate} : tensor<2x3xf16> to tensor<2x3xf8E4M3FN>
  // CHECK: ds.unary not
  %9 = ds.unary not %2 : (tensor<2x3xi1>) -> tensor<2x3xi1>
  return %6 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @contractions
func.func @contractions(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>,
                        %m: tensor<2x8x16xf32>, %n: tensor<16x4xf32>) {
  // CHECK: ds.conv {{.*}} -> tensor<1x4x8x8xf32>
  %0 = ds.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: ds.conv_transpose {{.*}} -> tensor<1x3x17x17xf32>
  %1 = ds.conv_transpose %0, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x17x17xf32>
  // CHECK: ds.pool max {{.*}} -> tensor<1x4x4x4xf32>
  %2 = ds.pool max %0 {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: ds.matmul {{.*}} -> tensor<2x8x4xf32>
  %3 = ds.matmul %m, %n : (tensor<2x8x16xf32>, tensor<16x4xf32>) -> tensor<2x8x4xf32>
  // CHECK: ds.einsum {{.*}}equation = "bij,jk->bik"
  %4 = ds.einsum %m, %n {equation = "bij,jk->bik"} : (tensor<2x8x16xf32>, tensor<16x4xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

// CHECK-LABEL: func @reductions
func.func @reductions(%x: tensor<2x?x64xf32>, %g: tensor<64xf32>, %k: tensor<1xi64>) {
  // CHECK: ds.reduce mean {{.*}} -> tensor<2x?x1xf32>
  %0 = ds.reduce mean %x {axes = array<i64: 2>, keepdims = true} : (tensor<2x?x64xf32>) -> tensor<2x?x1xf32>
  // CHECK: ds.arg_reduce argmax {{.*}} -> tensor<2x?xi64>
  %1 = ds.arg_reduce argmax %x {axis = 2 : i64, keepdims = false, select_last_index = false} : (tensor<2x?x64xf32>) -> tensor<2x?xi64>
  // CHECK: ds.norm rms
  %2 = ds.norm rms %x, %g {axis = 2 : i64, epsilon = 1.0e-5 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<2x?x64xf32>, tensor<64xf32>) -> tensor<2x?x64xf32>
  // CHECK: ds.norm mean_var
  %3 = ds.norm mean_var %x, %g, %g {axis = -1 : i64, epsilon = 1.0e-5 : f64, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<2x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x?x64xf32>
  // CHECK: ds.softmax {{.*}}log
  %4 = ds.softmax %x {axis = -1 : i64, log} : (tensor<2x?x64xf32>) -> tensor<2x?x64xf32>
  // CHECK: ds.cumsum
  %5 = ds.cumsum %x {axis = 2 : i64, exclusive = false, reverse = true} : (tensor<2x?x64xf32>) -> tensor<2x?x64xf32>
  // An axis known only at run time: an operand (the attribute is unused).
  // CHECK: ds.cumsum %{{.*}}, %{{.*}} {axis = 0 : i64
  %7 = ds.cumsum %x, %k {axis = 0 : i64, exclusive = false, reverse = false} : (tensor<2x?x64xf32>, tensor<1xi64>) -> tensor<2x?x64xf32>
  // Axes known only at run time: every dim that is not 1 may be reduced.
  // CHECK: ds.dynamic_reduce max {{.*}} -> tensor<?x?x?xf32>
  %8 = ds.dynamic_reduce max %x, %k {keepdims = true} : (tensor<2x?x64xf32>, tensor<1xi64>) -> tensor<?x?x?xf32>
  // CHECK: ds.dynamic_reduce l2 {{.*}} -> tensor<?x?xf32>
  %9 = ds.dynamic_reduce l2 %x, %k {keepdims = false} : (tensor<2x?x64xf32>, tensor<1xi64>) -> tensor<?x?xf32>
  // CHECK: ds.topk {{.*}} -> (tensor<2x?x?xf32>, tensor<2x?x?xi64>)
  %6:2 = ds.topk %x, %k {axis = 2 : i64, largest = true, sorted = true} : (tensor<2x?x64xf32>, tensor<1xi64>) -> (tensor<2x?x?xf32>, tensor<2x?x?xi64>)
  return
}

// -----

// CHECK-LABEL: func @data_movement
func.func @data_movement(%x: tensor<?x16x64xf32>, %s: tensor<4xi64>, %i: tensor<3xi64>, %idx: tensor<?x16x64xi64>) {
  // CHECK: ds.shape {{.*}} -> tensor<3xi64>
  %0 = ds.shape %x {end = 3 : i64, start = 0 : i64} : (tensor<?x16x64xf32>) -> tensor<3xi64>
  // CHECK: ds.reshape {{.*}} -> tensor<?x?x?x?xf32>
  %1 = ds.reshape %x, %s : (tensor<?x16x64xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  // CHECK: ds.transpose
  %2 = ds.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<?x16x64xf32>) -> tensor<?x64x16xf32>
  // CHECK: ds.concat
  %3 = ds.concat %x, %x {axis = 1 : i64} : (tensor<?x16x64xf32>, tensor<?x16x64xf32>) -> tensor<?x32x64xf32>
  // CHECK: ds.slice
  %4 = ds.slice %x, %i, %i, %i, %i : (tensor<?x16x64xf32>, tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<?x?x?xf32>
  // CHECK: ds.gather
  %5 = ds.gather %x, %i {axis = 1 : i64} : (tensor<?x16x64xf32>, tensor<3xi64>) -> tensor<?x3x64xf32>
  // CHECK: ds.gather_elements
  %6 = ds.gather_elements %x, %idx {axis = 1 : i64} : (tensor<?x16x64xf32>, tensor<?x16x64xi64>) -> tensor<?x16x64xf32>
  // CHECK: ds.scatter_elements
  %7 = ds.scatter_elements %x, %idx, %x {axis = 1 : i64, reduction = 1 : i32} : (tensor<?x16x64xf32>, tensor<?x16x64xi64>, tensor<?x16x64xf32>) -> tensor<?x16x64xf32>
  // CHECK: ds.expand
  %8 = ds.expand %x, %i : (tensor<?x16x64xf32>, tensor<3xi64>) -> tensor<?x16x64xf32>
  // CHECK: ds.tile
  %9 = ds.tile %x, %i : (tensor<?x16x64xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  // CHECK: ds.trilu {{.*}}upper
  %10 = ds.trilu %x {upper} : (tensor<?x16x64xf32>) -> tensor<?x16x64xf32>
  // CHECK: ds.fill
  %11 = ds.fill %i {value = dense<0.0> : tensor<1xf32>} : (tensor<3xi64>) -> tensor<?x?x?xf32>
  return
}

// -----

// CHECK-LABEL: func @gather_scatter_nd
func.func @gather_scatter_nd(%x: tensor<4x5xf32>, %i: tensor<3x1xi64>, %u: tensor<3x5xf32>, %p: tensor<4xi64>, %v: tensor<f32>, %sc: tensor<2xf32>, %p2: tensor<2xi64>) {
  // CHECK: ds.gather_nd {{.*}} -> tensor<3x5xf32>
  %0 = ds.gather_nd %x, %i {batch_dims = 0 : i64} : (tensor<4x5xf32>, tensor<3x1xi64>) -> tensor<3x5xf32>
  // CHECK: ds.scatter_nd
  %1 = ds.scatter_nd %x, %i, %u {reduction = 0 : i32} : (tensor<4x5xf32>, tensor<3x1xi64>, tensor<3x5xf32>) -> tensor<4x5xf32>
  // CHECK: ds.pad
  %2 = ds.pad %x, %p, %v {mode = 0 : i32} : (tensor<4x5xf32>, tensor<4xi64>, tensor<f32>) -> tensor<?x?xf32>
  // CHECK: ds.resize {{.*}} scales(
  %3 = ds.resize %x scales(%sc) {antialias = false, coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -7.500000e-01 : f64, exclude_outside = false, extrapolation_value = 0.000000e+00 : f64, mode = "linear", nearest_mode = "floor", operandSegmentSizes = array<i32: 1, 0, 1, 0>} : (tensor<4x5xf32>, tensor<2xf32>) -> tensor<?x?xf32>
  // Both: sizes are the shape, scales map the coordinates (keep_aspect_ratio_policy).
  // CHECK: ds.resize {{.*}} scales({{.*}}) sizes(
  %4 = ds.resize %x scales(%sc) sizes(%p2) {antialias = false, coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -7.500000e-01 : f64, exclude_outside = false, extrapolation_value = 0.000000e+00 : f64, mode = "linear", nearest_mode = "floor", operandSegmentSizes = array<i32: 1, 0, 1, 1>} : (tensor<4x5xf32>, tensor<2xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

// CHECK-LABEL: func @range
func.func @range(%a: tensor<i64>, %b: tensor<i64>) -> tensor<?xi64> {
  // CHECK: ds.range
  %0 = ds.range %a, %b, %a : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// CHECK-LABEL: func @quant
func.func @quant(%x: tensor<2x4xf32>, %s: tensor<f32>, %zp: tensor<ui8>, %sc: tensor<4xf32>, %zc: tensor<4xi8>) {
  // CHECK: ds.quantize {{.*}} -> tensor<2x4xui8>
  %0 = ds.quantize %x, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x4xui8>
  // CHECK: ds.dequantize {{.*}} -> tensor<2x4xf32>
  %1 = ds.dequantize %0, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<2x4xf32>
  // CHECK: ds.quantize {{.*}} -> tensor<2x4xi8>
  %2 = ds.quantize %x, %sc, %zc {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xi8>) -> tensor<2x4xi8>
  // CHECK: ds.dynamic_quantize
  %3:3 = ds.dynamic_quantize %x : (tensor<2x4xf32>) -> (tensor<2x4xui8>, tensor<f32>, tensor<ui8>)
  return
}

// -----

// CHECK-LABEL: func @transformer
func.func @transformer(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x16x8xf32>, %mask: tensor<16x16xi1>, %cos: tensor<32x4xf32>, %pos: tensor<1x16xi64>, %pos4: tensor<1x1x16x4xi64>) {
  // CHECK: ds.attention {{.*}}is_causal
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32>
  // CHECK: ds.attention_grad {{.*}}is_causal{{.*}} -> (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
  %g:3 = ds.attention_grad %q, %k, %k, %0, %0 {is_causal} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
  // CHECK: ds.attention {{.*}}scale = 5.000000e-01
  %1 = ds.attention %q, %k, %k, %mask {scale = 0.5 : f64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<16x16xi1>) -> tensor<1x4x16x8xf32>
  // CHECK: ds.attention {{.*}}{causal_from_end, is_causal, sink_tokens = 4 : i64, window = 8 : i64}
  %3 = ds.attention %q, %k, %k {is_causal, causal_from_end, window = 8 : i64, sink_tokens = 4 : i64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32>
  // CHECK: ds.sparse_attention {{.*}}{is_causal} : {{.*}}tensor<1x1x16x4xi64>) -> tensor<1x4x16x8xf32>
  %4 = ds.sparse_attention %q, %k, %k, %pos4 {is_causal} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x1x16x4xi64>) -> tensor<1x4x16x8xf32>
  // CHECK: ds.rotary_embedding
  %2 = ds.rotary_embedding %q, %cos, %cos, %pos {num_heads = 0 : i64, rotary_embedding_dim = 0 : i64} : (tensor<1x4x16x8xf32>, tensor<32x4xf32>, tensor<32x4xf32>, tensor<1x16xi64>) -> tensor<1x4x16x8xf32>
  return
}
