// RUN: ds-opt %s --split-input-file --verify-diagnostics
// Verifier and type-inference errors of ds ops.

func.func @broadcast(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{operands are not broadcast-compatible: 2x3 vs 4x5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.binary add %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @binary_types(%a: tensor<3xf32>, %b: tensor<3xf16>) {
  // expected-error @+1 {{operand element types differ}}
  %0 = ds.binary add %a, %b : (tensor<3xf32>, tensor<3xf16>) -> tensor<3xf32>
  return
}

// -----

func.func @logical_on_float(%a: tensor<3xf32>) {
  // expected-error @+1 {{'and' needs i1 operands}}
  %0 = ds.binary and %a, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @unary_float_only(%a: tensor<3xi32>) {
  // expected-error @+1 {{'exp' needs a floating-point input}}
  %0 = ds.unary exp %a : (tensor<3xi32>) -> tensor<3xi32>
  return
}

// -----

func.func @wrong_result(%a: tensor<3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.unary exp %a : (tensor<3xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @matmul_k(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{matmul contraction dims differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+2 {{conv input has 3 channels but weight expects 2 x group 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_window(%x: tensor<1x3x2x2xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{conv window larger than padded input}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x2x2xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x1x1xf32>
  return
}

// -----

func.func @pool_attrs(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+2 {{expected 2 strides and dilations and 4 pads}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.pool max %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @reduce_axes(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{reduce axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.reduce sum %x {axes = array<i64: 2>, keepdims = true} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @reduce_sorted(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axes must be sorted and unique}}
  %0 = ds.reduce sum %x {axes = array<i64: 1, 0>, keepdims = true} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  %s = ds.constant dense<[4, 2]> : tensor<2xi64>
  // expected-error @+2 {{cannot reshape 2x3 (6 elements) to 4x2 (8 elements)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{transpose perm is not a permutation}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.transpose %x {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<4x4xf32>) {
  // expected-error @+2 {{concat inputs differ in dim 1: 3 vs 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<4x4xf32>) -> tensor<6x3xf32>
  return
}

// -----

func.func @gather_axis(%a: tensor<2x3xf32>, %i: tensor<2xi64>) {
  // expected-error @+2 {{gather axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.gather %a, %i {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return
}

// -----

func.func @cast_shape(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{cast changes the shape}}
  %0 = ds.cast %a : tensor<2x3xf32> to tensor<3x2xf16>
  return
}

// -----

func.func @attention_heads(%q: tensor<1x3x16x8xf32>, %k: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{attention query heads 3 are not a multiple of key/value heads 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.attention %q, %k, %k : (tensor<1x3x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x3x16x8xf32>
  return
}

// -----

func.func @attention_window_without_causal(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{window and sink_tokens restrict causal attention: they need is_causal}}
  %0 = ds.attention %q, %q, %q {window = 4 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @attention_from_end_without_causal(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{causal_from_end needs is_causal}}
  %0 = ds.attention %q, %q, %q {causal_from_end} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @quantize_zero_point(%x: tensor<4xf32>, %s: tensor<f32>, %zp: tensor<i8>) {
  // expected-error @+1 {{zero point type 'i8' differs from the quantized type 'ui8'}}
  %0 = ds.quantize %x, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4xui8>
  return
}

// -----

func.func @dequantize_axis(%x: tensor<2x4xi8>, %s: tensor<3xf32>) {
  // expected-error @+1 {{per-axis scale must be 1-D with 4 elements (dim 1)}}
  %0 = ds.dequantize %x, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xi8>, tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @norm_int(%x: tensor<2x4xi32>) {
  // expected-error @+1 {{needs a floating-point input}}
  %0 = ds.norm rms %x {axis = 1 : i64, epsilon = 1.0e-5 : f64, operandSegmentSizes = array<i32: 1, 0, 0>} : (tensor<2x4xi32>) -> tensor<2x4xi32>
  return
}

// -----

func.func @resize_neither(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{'ds.resize' op needs scales or sizes}}
  %0 = ds.resize %x {antialias = false, coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -7.500000e-01 : f64, exclude_outside = false, extrapolation_value = 0.000000e+00 : f64, mode = "nearest", nearest_mode = "floor", operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2x4xf32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @topk_k(%x: tensor<2x4xf32>) {
  %k = ds.constant dense<5> : tensor<1xi64>
  // expected-error @+2 {{topk k = 5 is outside [0, 4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = ds.topk %x, %k {axis = 1 : i64, largest = true, sorted = true} : (tensor<2x4xf32>, tensor<1xi64>) -> (tensor<2x5xf32>, tensor<2x5xi64>)
  return
}

// -----

func.func @matmul_integer_zero_point_type(%a: tensor<2x3xui8>, %b: tensor<3x4xi8>, %z: tensor<i8>) {
  // expected-error @+1 {{lhs zero point has element type 'i8', expected 'ui8'}}
  %0 = ds.matmul_integer %a, %b lhs_zero_point %z : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<i8>) -> tensor<2x4xi32>
  return
}

// -----

func.func @matmul_integer_per_row_lhs(%a: tensor<2x3xui8>, %b: tensor<3x4xi8>, %z: tensor<2xui8>) {
  // expected-error @+1 {{lhs zero point of shape 2 must be one value}}
  %0 = ds.matmul_integer %a, %b lhs_zero_point %z : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<2xui8>) -> tensor<2x4xi32>
  return
}

// -----

func.func @matmul_integer_columns(%a: tensor<2x3xui8>, %b: tensor<3x4xi8>, %z: tensor<3xi8>) {
  // expected-error @+1 {{rhs zero point of shape 3 must be one value or one per column of the rhs}}
  %0 = ds.matmul_integer %a, %b rhs_zero_point %z : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<3xi8>) -> tensor<2x4xi32>
  return
}

// -----

func.func @matmul_integer_result(%a: tensor<2x3xui8>, %b: tensor<3x4xi8>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 32-bit signless integer values}}
  %0 = ds.matmul_integer %a, %b : (tensor<2x3xui8>, tensor<3x4xi8>) -> tensor<2x4xf32>
  return
}

// -----

func.func @sparse_attention_indices(%q: tensor<1x2x16x8xf32>, %i: tensor<1x16x4xi64>) {
  // expected-error @+2 {{sparse_attention indices 1x16x4 are not [B, 1 or Hq, S, K] for the query 1x2x16x8}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.sparse_attention %q, %q, %q, %i : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x16x4xi64>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @attention_select_blocks(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{select_blocks must be >= 1 and block_size in [1, 128], got 2 and 0}}
  %0 = ds.attention %q, %q, %q {is_causal, select_blocks = 2 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @attention_select_and_window(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{select_blocks needs is_causal and excludes window / sink_tokens}}
  %0 = ds.attention %q, %q, %q {is_causal, window = 4 : i64, select_blocks = 2 : i64, block_size = 4 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @cumsum_axis_operand_of_two(%x: tensor<3x4xf32>, %axis: tensor<2xi64>) {
  // expected-error @+1 {{axis_value must hold one element}}
  %0 = ds.cumsum %x, %axis {axis = 0 : i64, exclusive = false, reverse = false} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x4xf32>
  return
}

// -----

func.func @dynamic_reduce_axes_of_unknown_count(%x: tensor<3x4xf32>, %axes: tensor<?xi64>) {
  // expected-error @+2 {{dynamic_reduce axes must be a 1-D tensor of static, non-zero length, got shape ?}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.dynamic_reduce sum %x, %axes {keepdims = true} : (tensor<3x4xf32>, tensor<?xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @dynamic_reduce_more_axes_than_dims(%x: tensor<3x4xf32>, %axes: tensor<3xi64>) {
  // expected-error @+2 {{dynamic_reduce over 3 axes of a rank-2 tensor}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = ds.dynamic_reduce sum %x, %axes {keepdims = false} : (tensor<3x4xf32>, tensor<3xi64>) -> tensor<?xf32>
  return
}


// -----

func.func @block_sparse_attention_layout_blocks(%q: tensor<1x2x16x8xf32>, %l: tensor<1x4x3xi1>) {
  // expected-error @+1 {{layout dim 2 (key blocks) is 3, expected 4 for block_size 4}}
  %0 = ds.block_sparse_attention %q, %q, %q, %l {block_size = 4 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x4x3xi1>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @block_sparse_attention_layout_heads(%q: tensor<1x2x16x8xf32>, %l: tensor<3x2x2xi1>) {
  // expected-error @+1 {{layout dim 0 (heads) is 3, expected 1 or 2 for block_size 8}}
  %0 = ds.block_sparse_attention %q, %q, %q, %l {block_size = 8 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<3x2x2xi1>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @block_sparse_attention_block_size(%q: tensor<1x2x16x8xf32>, %l: tensor<1x1x1xi1>) {
  // expected-error @+1 {{block_size must be in [1, 1024], got 0}}
  %0 = ds.block_sparse_attention %q, %q, %q, %l {block_size = 0 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x1x1xi1>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @block_layout_block_size(%s: tensor<4xi64>) {
  // expected-error @+1 {{block_size must be in [1, 1024], got 0}}
  %0 = ds.block_layout %s, %s {block_size = 0 : i64, local_blocks = 1 : i64} : (tensor<4xi64>, tensor<4xi64>) -> tensor<1x?x?xi1>
  return
}

// -----

func.func @block_layout_no_pattern(%s: tensor<4xi64>) {
  // expected-error @+1 {{needs local_blocks, stride_blocks or global_blocks}}
  %0 = ds.block_layout %s, %s {block_size = 16 : i64} : (tensor<4xi64>, tensor<4xi64>) -> tensor<1x?x?xi1>
  return
}

// -----

func.func @block_layout_negative(%s: tensor<4xi64>) {
  // expected-error @+1 {{local_blocks, stride_blocks and global_blocks must be >= 0}}
  %0 = ds.block_layout %s, %s {block_size = 16 : i64, local_blocks = -1 : i64, global_blocks = 1 : i64} : (tensor<4xi64>, tensor<4xi64>) -> tensor<1x?x?xi1>
  return
}

// -----

func.func @block_layout_from_end(%s: tensor<4xi64>) {
  // expected-error @+1 {{causal_from_end needs is_causal}}
  %0 = ds.block_layout %s, %s {block_size = 16 : i64, local_blocks = 1 : i64, causal_from_end} : (tensor<4xi64>, tensor<4xi64>) -> tensor<1x?x?xi1>
  return
}

// -----

func.func @block_layout_short_shape(%s: tensor<4xi64>, %t: tensor<2xi64>) {
  // expected-error @+1 {{query_shape and key_shape must be 1-D with at least 3 elements, got 'tensor<2xi64>'}}
  %0 = ds.block_layout %s, %t {block_size = 16 : i64, local_blocks = 1 : i64} : (tensor<4xi64>, tensor<2xi64>) -> tensor<1x?x?xi1>
  return
}

// -----

func.func @block_layout_other_blocks(%q: tensor<1x2x?x8xf32>, %s: tensor<4xi64>) {
  %l = ds.block_layout %s, %s {block_size = 8 : i64, local_blocks = 1 : i64} : (tensor<4xi64>, tensor<4xi64>) -> tensor<1x?x?xi1>
  // expected-error @+1 {{block_size 9 differs from its ds.block_layout's 8}}
  %0 = ds.block_sparse_attention %q, %q, %q, %l {block_size = 9 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x?x?xi1>) -> tensor<1x2x?x8xf32>
  return
}

// -----

func.func @attention_grad_output_shape(%q: tensor<1x2x16x8xf32>, %o: tensor<1x2x15x8xf32>) {
  // expected-error @+2 {{attention_grad: output and output_grad must be 'tensor<1x2x16x8xf32>', got 'tensor<1x2x15x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:3 = ds.attention_grad %q, %q, %q, %o, %q : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x15x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
  return
}

// -----

func.func @attention_grad_window_without_causal(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{window and sink_tokens restrict causal attention: they need is_causal}}
  %0:3 = ds.attention_grad %q, %q, %q, %q, %q {window = 4 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
  return
}

// -----

func.func @attention_grad_heads(%q: tensor<1x3x16x8xf32>, %k: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{attention query heads 3 are not a multiple of key/value heads 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:3 = ds.attention_grad %q, %k, %k, %q, %q : (tensor<1x3x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x3x16x8xf32>, tensor<1x3x16x8xf32>) -> (tensor<1x3x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
  return
}

// -----

func.func @sparse_attention_grad_output(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x16x8xf32>, %i: tensor<1x1x4x3xi64>, %o: tensor<1x2x4x7xf32>) {
  // expected-error @+2 {{sparse_attention_grad: output and output_grad must be 'tensor<1x2x4x8xf32>', got 'tensor<1x2x4x7xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:3 = ds.sparse_attention_grad %q, %k, %k, %i, %o, %q : (tensor<1x2x4x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x1x4x3xi64>, tensor<1x2x4x7xf32>, tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
  return
}

// -----

func.func @block_sparse_attention_grad_layout(%q: tensor<1x2x16x8xf32>, %l: tensor<1x4x3xi1>) {
  // expected-error @+1 {{layout dim 2 (key blocks) is 3, expected 4 for block_size 4}}
  %0:3 = ds.block_sparse_attention_grad %q, %q, %q, %l, %q, %q {block_size = 4 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x4x3xi1>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
  return
}
