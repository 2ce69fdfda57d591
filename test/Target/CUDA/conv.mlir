// Convolutions and pooling: a direct kernel, one thread per output element,
// with the epilogue fused.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// CHECK-LABEL: k0_contraction(const float *__restrict__ in0, const float *__restrict__ in1, const float *__restrict__ in2, float *__restrict__ out0)
// CHECK: // contraction group over 1x8x16x16 (2048 elements), 1 per thread
// CHECK: float [[ACC:acc[0-9]+]] = 0;
// CHECK: for (int [[CI:ci[0-9]+]] = 0; [[CI]] < 3; ++[[CI]]) {
// CHECK: for (int [[K:k[0-9]+]] = 0; [[K]] < 3; ++[[K]]) {
// CHECK: const long long [[I:i[0-9]+]] = ((i / 16) % 16) * 1 - 1 + [[K]] * 1;
// CHECK: if ([[I]] < 0 || [[I]] >= 16) continue;
// CHECK: [[ACC]] += {{x[0-9]+}} * {{x[0-9]+}};
// CHECK: [[ACC]] += {{x[0-9]+}};
// CHECK: ds_relu([[ACC]])
func.func @main(%x: tensor<1x3x16x16xf32>, %w: tensor<8x3x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x16x16xf32> {
  %r = ds.fusion_group contraction (%x, %w, %b) : (tensor<1x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32> {
  ^bb0(%a: tensor<1x3x16x16xf32>, %c: tensor<8x3x3x3xf32>, %d: tensor<8xf32>):
    %0 = ds.conv %a, %c, %d {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
    %1 = ds.unary relu %0 : (tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
    ds.yield %1 : tensor<1x8x16x16xf32>
  }
  return %r : tensor<1x8x16x16xf32>
}

// -----

// Depthwise (group = channels): the input channel follows the output channel.
// CHECK-LABEL: k0_contraction(const __half *__restrict__ in0, const __half *__restrict__ in1, __half *__restrict__ out0)
// CHECK: for (int [[CI:ci[0-9]+]] = 0; [[CI]] < 1; ++[[CI]]) {
// CHECK: const long long {{i[0-9]+}} = ((i / 4) % 4) * 2 - 1 + {{k[0-9]+}} * 1;
// CHECK: ds_load(in0, ((((i / 16) % 4) / 1) * 1 + [[CI]]) * 64
func.func @main(%x: tensor<1x4x8x8xf16>, %w: tensor<4x1x3x3xf16>) -> tensor<1x4x4x4xf16> {
  %0 = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 4 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf16>, tensor<4x1x3x3xf16>) -> tensor<1x4x4x4xf16>
  return %0 : tensor<1x4x4x4xf16>
}

// -----

// CHECK-LABEL: k0_reduction
// CHECK: float [[ACC:acc[0-9]+]] = -DS_INF;
// CHECK: [[ACC]] = fmaxf([[ACC]], {{x[0-9]+}});
func.func @main(%x: tensor<1x16x32x32xf32>) -> tensor<1x16x16x16xf32> {
  %0 = ds.pool max %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x16x32x32xf32>) -> tensor<1x16x16x16xf32>
  return %0 : tensor<1x16x16x16xf32>
}

// -----

// Transposed convolution as a gather: the input position where the stride
// divides exactly and lies inside the input.
// CHECK-LABEL: k0_contraction
// CHECK: float [[ACC:acc[0-9]+]] = 0;
// CHECK: for (int [[CI:ci[0-9]+]] = 0; [[CI]] < 4; ++[[CI]]) {
// CHECK: const long long [[T:t[0-9]+]] = (i % 17) + 0 - [[K:k[0-9]+]] * 1;
// CHECK: if ([[T]] < 0 || [[T]] % 2 != 0) continue;
// CHECK: const long long [[I:i[0-9]+]] = [[T]] / 2;
// CHECK: if ([[I]] >= 8) continue;
// CHECK: [[ACC]] += {{x[0-9]+}} * {{x[0-9]+}};
func.func @main(%x: tensor<1x4x8xf32>, %w: tensor<4x2x3xf32>) -> tensor<1x2x17xf32> {
  %0 = ds.conv_transpose %x, %w {dilations = array<i64: 1>, group = 1 : i64, output_padding = array<i64: 0>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : (tensor<1x4x8xf32>, tensor<4x2x3xf32>) -> tensor<1x2x17xf32>
  return %0 : tensor<1x2x17xf32>
}

// -----

// Einsum with an ellipsis (a digit label per broadcast dim; a size-1 dim
// reads index 0) and an implicit output (the ellipsis dims, then the labels
// used once in alphabetical order: "...ik").
// CHECK-LABEL: k0_contraction(const float *__restrict__ in0, const float *__restrict__ in1, float *__restrict__ out0)
// CHECK: float [[ACC:acc[0-9]+]] = 0;
// CHECK: for (long long [[E:e[0-9]+]] = 0; [[E]] < 4; ++[[E]]) {
// CHECK: ds_load(in0, (i / 15) * 12 + ((i / 5) % 3) * 4 + [[E]]);
// CHECK: ds_load(in1, [[E]] * 5 + (i % 5));
// CHECK: [[ACC]] += {{x[0-9]+}} * {{x[0-9]+}};
func.func @main(%a: tensor<2x3x4xf32>, %b: tensor<1x4x5xf32>) -> tensor<2x3x5xf32> {
  %0 = ds.einsum %a, %b {equation = "...ij, ...jk"} : (tensor<2x3x4xf32>, tensor<1x4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}
