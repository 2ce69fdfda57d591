// Integer quantization on CUDA: quantize / dequantize per tensor, per axis
// and blocked; matmul_integer and conv_integer as exact int loops.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// Per-axis quantize: the scale and zero point at the axis coordinate; round
// half to even, NaN to the zero point, saturated to i8.
// CHECK-LABEL: k0_elementwise(const float *__restrict__ in0, const float *__restrict__ in1, const signed char *__restrict__ in2, signed char *__restrict__ out0)
// CHECK: float [[X:x[0-9]+]] = ds_load(in0, (i / 12) * 12 + ((i / 4) % 3) * 4 + (i % 4));
// CHECK: float [[S:x[0-9]+]] = ds_load(in1, ((i / 4) % 3));
// CHECK: int [[Z:x[0-9]+]] = ds_load(in2, ((i / 4) % 3));
// CHECK: const float [[Q:q[0-9]+]] = (float)[[X]] / (float)[[S]];
// CHECK: double [[V:v[0-9]+]]_d = isnan([[Q]]) ? (double)[[Z]] : (double)rintf([[Q]]) + (double)[[Z]];
// CHECK: [[V]]_d = [[V]]_d < -128.0 ? -128.0 : ([[V]]_d > 127.0 ? 127.0 : [[V]]_d);
// CHECK: int [[V]] = (int)[[V]]_d;
func.func @main(%x: tensor<2x3x4xf32>, %s: tensor<3xf32>, %z: tensor<3xi8>) -> tensor<2x3x4xi8> {
  %0 = ds.quantize %x, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<2x3x4xi8>
  return %0 : tensor<2x3x4xi8>
}

// -----

// Blocked dequantize: the scale of the position's block along the axis.
// CHECK-LABEL: k0_elementwise(const unsigned char *__restrict__ in0, const float *__restrict__ in1, const unsigned char *__restrict__ in2, float *__restrict__ out0)
// CHECK: float [[S:x[0-9]+]] = ds_load(in1, (i / 8) * 4 + ((i % 8) / 2));
// CHECK: float {{v[0-9]+}} = (float)((long long){{x[0-9]+}} - (long long){{x[0-9]+}}) * (float)[[S]];
func.func @main(%q: tensor<2x8xui8>, %s: tensor<2x4xf32>, %z: tensor<2x4xui8>) -> tensor<2x8xf32> {
  %0 = ds.dequantize %q, %s, %z {axis = 1 : i64, block_size = 2 : i64} : (tensor<2x8xui8>, tensor<2x4xf32>, tensor<2x4xui8>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// matmul_integer: the dot product of zero-point-shifted int8 rows and
// columns, a per-column rhs zero point; sums wrap in 32 bits (unsigned).
// CHECK-LABEL: k0_contraction(const unsigned char *__restrict__ in0, const signed char *__restrict__ in1, const unsigned char *__restrict__ in2, const signed char *__restrict__ in3, int *__restrict__ out0)
// CHECK: int [[ZB:x[0-9]+]] = ds_load(in3, (i % 4));
// CHECK: unsigned [[ACC:acc[0-9]+]] = 0;
// CHECK: for (long long [[K:k[0-9]+]] = 0; [[K]] < 16; ++[[K]]) {
// CHECK: [[ACC]] += (unsigned)(({{x[0-9]+}} - {{x[0-9]+}}) * ({{x[0-9]+}} - [[ZB]]));
// CHECK: ds_store(out0, i, (int)[[ACC]]);
func.func @main(%a: tensor<2x8x16xui8>, %b: tensor<16x4xi8>, %za: tensor<ui8>, %zb: tensor<4xi8>) -> tensor<2x8x4xi32> {
  %0 = ds.matmul_integer %a, %b lhs_zero_point %za rhs_zero_point %zb : (tensor<2x8x16xui8>, tensor<16x4xi8>, tensor<ui8>, tensor<4xi8>) -> tensor<2x8x4xi32>
  return %0 : tensor<2x8x4xi32>
}

// -----

// conv_integer: the direct loop with both zero points subtracted, int sums.
// CHECK-LABEL: k0_contraction
// CHECK: unsigned [[ACC:acc[0-9]+]] = 0;
// CHECK: [[ACC]] += (unsigned)(({{x[0-9]+}} - {{x[0-9]+}}) * {{x[0-9]+}});
func.func @main(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>, %zx: tensor<ui8>) -> tensor<1x4x8x8xi32> {
  %0 = ds.conv_integer %x, %w input_zero_point %zx {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>, tensor<ui8>) -> tensor<1x4x8x8xi32>
  return %0 : tensor<1x4x8x8xi32>
}

// -----

// Dynamic quantization: one block finds the range (widened to 0) with block
// reductions, then quantizes; thread 0 stores the scale and zero point.
// CHECK-LABEL: k0_data_movement(const float *__restrict__ in0, unsigned char *__restrict__ out0, float *__restrict__ out1, unsigned char *__restrict__ out2)
// CHECK: // dynamic_quantize over 2100 elements in one block
// CHECK: float lo = 0.0f, hi = 0.0f;
// CHECK: lo = ds_block_reduce<2>(lo);
// CHECK: hi = ds_block_reduce<1>(hi);
// CHECK: const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
// CHECK: const float zp = rintf(fminf(255.0f, fmaxf(0.0f, 0.0f - lo / scale)));
// CHECK: ds_store(out0, e, (int)(q != q ? zp : r));
// CHECK: ds_store(out2, 0, (int)zp);
// CHECK: kernel="k0_data_movement" grid=array<i64: 1, 1, 1> block=array<i64: 256, 1, 1>
func.func @main(%x: tensor<7x300xf32>) -> (tensor<7x300xui8>, tensor<f32>, tensor<ui8>) {
  %y, %s, %z = ds.dynamic_quantize %x : (tensor<7x300xf32>) -> (tensor<7x300xui8>, tensor<f32>, tensor<ui8>)
  return %y, %s, %z : tensor<7x300xui8>, tensor<f32>, tensor<ui8>
}
