// What the CUDA emitter cannot emit is an error on the op, naming it.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file -verify-diagnostics

func.func @main(%x: tensor<3x4xf32>, %k: tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  // expected-error @+1 {{cuda: 'ds.topk' needs k as a constant (2, the result's dim); bind a graph input k with --ds-bind-input}}
  %v, %i = ds.topk %x, %k {axis = 1 : i64, largest = true, sorted = true} : (tensor<3x4xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  return %v, %i : tensor<3x2xf32>, tensor<3x2xi64>
}

// -----

func.func @main(%x: tensor<3x?xf32>) -> (tensor<3x5xf32>, tensor<3x5xi64>) {
  %k = ds.constant dense<5> : tensor<1xi64>
  // expected-error @+1 {{cuda: cannot tell before a run whether k (5) is at most the axis length (s0); bind the dynamic dims with --ds-input-shape}}
  %v, %i = ds.topk %x, %k {axis = 1 : i64, largest = true, sorted = true} : (tensor<3x?xf32>, tensor<1xi64>) -> (tensor<3x5xf32>, tensor<3x5xi64>)
  return %v, %i : tensor<3x5xf32>, tensor<3x5xi64>
}

// -----

func.func @main(%x: tensor<3x4xf8E4M3FN>) -> (tensor<3x2xf8E4M3FN>, tensor<3x2xi64>) {
  %k = ds.constant dense<2> : tensor<1xi64>
  // expected-error @+1 {{cuda: 'ds.topk' on 'f8E4M3FN' is not supported (nor on the CPU)}}
  %v, %i = ds.topk %x, %k {axis = 1 : i64, largest = true, sorted = true} : (tensor<3x4xf8E4M3FN>, tensor<1xi64>) -> (tensor<3x2xf8E4M3FN>, tensor<3x2xi64>)
  return %v, %i : tensor<3x2xf8E4M3FN>, tensor<3x2xi64>
}

// -----

func.func @main(%x: tensor<4x8xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{cuda: reduce l2 on 'i32' is not supported (the CPU computes it in double)}}
  %0 = ds.reduce l2 %x {axes = array<i64: 1>, keepdims = false} : (tensor<4x8xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{cuda: softmax over axis 0 that is not the innermost (non-unit) dim is not supported (run --ds-cuda-trailing-reductions first, as ds-compile does)}}
  %0 = ds.softmax %x {axis = 0 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @main(%a: tensor<4x8xi32>, %b: tensor<8x2xi32>) -> tensor<4x2xi32> {
  // expected-error @+1 {{cuda: matmul on 'i32' is not supported}}
  %0 = ds.matmul %a, %b : (tensor<4x8xi32>, tensor<8x2xi32>) -> tensor<4x2xi32>
  return %0 : tensor<4x2xi32>
}

// -----

func.func @main(%x: tensor<1x3x4x4xf32>, %sc: tensor<4xf32>) -> tensor<1x3x8x8xf32> {
  // expected-error @+1 {{cuda: ds.resize needs constant scales (one per axis)}}
  %0 = ds.resize %x scales(%sc) {antialias = false, coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -7.500000e-01 : f64, exclude_outside = false, extrapolation_value = 0.000000e+00 : f64, mode = "linear", nearest_mode = "floor", operandSegmentSizes = array<i32: 1, 0, 1, 0>} : (tensor<1x3x4x4xf32>, tensor<4xf32>) -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// -----

// Block selection keeps a score and a flag per key block in shared memory:
// the key length must be known.
func.func @main(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x?x16xf32>) -> tensor<1x2x8x16xf32> {
  // expected-error @+1 {{cuda: block selection needs a static key length (bind it with --ds-input-shape)}}
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end, select_blocks = 2 : i64, block_size = 4 : i64} : (tensor<1x2x8x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x8x16xf32>
  return %0 : tensor<1x2x8x16xf32>
}

// -----

func.func @main(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %m: tensor<8x8xi1>) -> tensor<1x2x8x16xf32> {
  // expected-error @+1 {{cuda: block selection (select_blocks) with a mask has no CUDA kernel}}
  %0 = ds.attention %q, %k, %k, %m {is_causal, select_blocks = 2 : i64, block_size = 4 : i64} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<8x8xi1>) -> tensor<1x2x8x16xf32>
  return %0 : tensor<1x2x8x16xf32>
}

// -----

// 2^20 keys in blocks of 1: a million scores do not fit a block's shared memory.
func.func @main(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x1048576x16xf32>) -> tensor<1x1x8x16xf32> {
  // expected-error @+1 {{cuda: block selection over 1048576 key blocks at head dim 16 needs 8393920 bytes of shared memory per block, more than the 166912 a block can have (use larger blocks)}}
  %0 = ds.attention %q, %k, %k {is_causal, causal_from_end, select_blocks = 2 : i64, block_size = 1 : i64} : (tensor<1x1x8x16xf32>, tensor<1x1x1048576x16xf32>, tensor<1x1x1048576x16xf32>) -> tensor<1x1x8x16xf32>
  return %0 : tensor<1x1x8x16xf32>
}
