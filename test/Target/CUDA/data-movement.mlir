// Data movement: index arithmetic per output element; reshapes of arena
// values are views (cuda.alias), others are copies.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// Transpose [1, 16, 4, 8] -> [1, 4, 16, 8] permutes the coordinates; the
// reshape of its result is an alias, the reshape of a graph input a copy.
// CHECK-LABEL: k0_data_movement
// CHECK: const long long [[L:l[0-9]+]] = ((i / 32) % 16) * 32 + ((i / 8) % 4) * 8 + (i % 8);
// CHECK: ds_load(in0, (([[L]] / 32) % 16) * 32 + ([[L]] % 32));
// CHECK-LABEL: k1_data_movement
// CHECK: ds_load(in0, ((i / 8) % 16) * 32 + ((i / 128) % 4) * 8 + (i % 8));
// CHECK: ---- steps ----
// CHECK-NEXT: cuda.launch {{.*}} kernel="k0_data_movement"
// CHECK-NEXT: cuda.launch {{.*}} kernel="k1_data_movement"
// CHECK-NEXT: cuda.alias (%{{[0-9]+}}: tensor<1x4x16x8xf32>) -> (%{{[0-9]+}}: tensor<64x8xf32>)
func.func @main(%x: tensor<1x16x32xf32>) -> tensor<64x8xf32> {
  %s = ds.constant dense<[1, 16, 4, 8]> : tensor<4xi64>
  %0 = ds.reshape %x, %s : (tensor<1x16x32xf32>, tensor<4xi64>) -> tensor<1x16x4x8xf32>
  %1 = ds.transpose %0 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
  %t = ds.constant dense<[64, 8]> : tensor<2xi64>
  %2 = ds.reshape %1, %t : (tensor<1x4x16x8xf32>, tensor<2xi64>) -> tensor<64x8xf32>
  return %2 : tensor<64x8xf32>
}

// -----

// Concat picks its input by the coordinate along the axis.
// CHECK-LABEL: k0_data_movement(const __half *__restrict__ in0, const __half *__restrict__ in1, __half *__restrict__ out0)
// CHECK: float [[R:v[0-9]+]];
// CHECK: if ((i % 5) < 2) {
// CHECK: [[R]] = {{x[0-9]+}};
// CHECK: else {
// CHECK: ds_load(in1, (i / 5) * 3 + ((i % 5) - 2));
func.func @main(%a: tensor<4x2xf16>, %b: tensor<4x3xf16>) -> tensor<4x5xf16> {
  %0 = ds.concat %a, %b {axis = 1 : i64} : (tensor<4x2xf16>, tensor<4x3xf16>) -> tensor<4x5xf16>
  return %0 : tensor<4x5xf16>
}

// -----

// Gather loads the index first and wraps negative ones.
// CHECK-LABEL: k0_data_movement(const float *__restrict__ in0, const long long *__restrict__ in1, float *__restrict__ out0)
// CHECK: long long [[X:x[0-9]+]] = ds_load(in1, ((i / 64) % 16));
// CHECK: const long long [[G:g[0-9]+]] = [[X]] < 0 ? [[X]] + 100 : [[X]];
// CHECK: ds_load(in0, [[G]] * 64 + (i % 64));
func.func @main(%table: tensor<100x64xf32>, %ids: tensor<1x16xi64>) -> tensor<1x16x64xf32> {
  %0 = ds.gather %table, %ids {axis = 0 : i64} : (tensor<100x64xf32>, tensor<1x16xi64>) -> tensor<1x16x64xf32>
  return %0 : tensor<1x16x64xf32>
}

// -----

// Slice with constant starts and steps; constant-mode pad with a bounds test.
// CHECK-LABEL: k0_data_movement
// CHECK: ds_load(in0, ((i / 64) % 16) * 192 + (64 + (i % 64) * 1));
// CHECK-LABEL: k1_data_movement
// CHECK: float [[R:v[0-9]+]] = 0.0f;
// CHECK: if ((((i / 6) % 6) - 1) >= 0 && (((i / 6) % 6) - 1) < 4 && ((i % 6) - 1) >= 0 && ((i % 6) - 1) < 4) {
func.func @main(%x: tensor<1x16x192xf32>, %y: tensor<1x3x4x4xf32>) -> (tensor<1x16x64xf32>, tensor<1x3x6x6xf32>) {
  %st = ds.constant dense<64> : tensor<1xi64>
  %en = ds.constant dense<128> : tensor<1xi64>
  %ax = ds.constant dense<2> : tensor<1xi64>
  %sp = ds.constant dense<1> : tensor<1xi64>
  %0 = ds.slice %x, %st, %en, %ax, %sp : (tensor<1x16x192xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x16x64xf32>
  %p = ds.constant dense<[0, 0, 1, 1, 0, 0, 1, 1]> : tensor<8xi64>
  %1 = ds.pad %y, %p {mode = 0 : i32} : (tensor<1x3x4x4xf32>, tensor<8xi64>) -> tensor<1x3x6x6xf32>
  return %0, %1 : tensor<1x16x64xf32>, tensor<1x3x6x6xf32>
}

// -----

// Resize (linear, half_pixel): each output maps its coordinate back on the
// resampled axes and sums their two taps; the kept axes read their own.
// CHECK-LABEL: k0_data_movement(const float *__restrict__ in0, float *__restrict__ out0)
// CHECK: const float [[XO:xo[0-9]+]] = ds_resize_coord(0, (float)((i / 8) % 8), 2.0f, (float)8, (float)4, 0.0f, 1.0f);
// CHECK: const float [[XO2:xo[0-9]+]] = ds_resize_coord(0, (float)(i % 8), 2.0f, (float)8, (float)4, 0.0f, 1.0f);
// CHECK: for (int [[T:t[0-9]+]] = 0; [[T]] < 2; ++[[T]]) {
// CHECK: double [[W:w[0-9]+]] = ds_resize_tap(0, 0 + [[T]], [[XO]], 1.0, -0.75, false, 4, [[I:i[0-9]+]]);
// CHECK: if ([[W]] == 0.0) continue;
// CHECK: for (int [[T2:t[0-9]+]] = 0; [[T2]] < 2; ++[[T2]]) {
// CHECK: double [[W2:w[0-9]+]] = ds_resize_tap(0, 0 + [[T2]], [[XO2]],
// CHECK: ds_load(in0, ((i / 64) % 3) * 16 + [[I]] * 4 + [[I2:i[0-9]+]]);
// CHECK: [[ACC:acc[0-9]+]] += (float)(1.0 * [[W]] * [[W2]]) *
func.func @main(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x8x8xf32> {
  %sc = ds.constant dense<[1.0, 1.0, 2.0, 2.0]> : tensor<4xf32>
  %0 = ds.resize %x scales(%sc) {antialias = false, coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -7.500000e-01 : f64, exclude_outside = false, extrapolation_value = 0.000000e+00 : f64, mode = "linear", nearest_mode = "floor", operandSegmentSizes = array<i32: 1, 0, 1, 0>} : (tensor<1x3x4x4xf32>, tensor<4xf32>) -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// -----

// Resize (nearest, from sizes, tf_crop_and_resize): one read at the rounded
// coordinate, the extrapolation value outside the crop.
// CHECK-LABEL: k0_data_movement(const int *__restrict__ in0, int *__restrict__ out0)
// CHECK: int [[R:v[0-9]+]] = (int)10.0f;
// CHECK: const float [[XO:xo[0-9]+]] = ds_resize_coord(5, (float)i, 1.5f, (float)6, (float)4, 0.25f, 0.75f);
// CHECK: if (!([[XO]] < 0.0f || [[XO]] > (float)(4 - 1))) {
// CHECK: const long long [[N:n[0-9]+]] = ds_resize_nearest(1, [[XO]], 4);
// CHECK: [[R]] = {{x[0-9]+}};
func.func @main(%x: tensor<4xi32>) -> tensor<6xi32> {
  %roi = ds.constant dense<[0.25, 0.75]> : tensor<2xf32>
  %sz = ds.constant dense<6> : tensor<1xi64>
  %0 = ds.resize %x roi(%roi) sizes(%sz) {antialias = false, coordinate_transformation_mode = "tf_crop_and_resize", cubic_coeff_a = -7.500000e-01 : f64, exclude_outside = false, extrapolation_value = 1.000000e+01 : f64, mode = "nearest", nearest_mode = "round_prefer_ceil", operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<4xi32>, tensor<2xf32>, tensor<1xi64>) -> tensor<6xi32>
  return %0 : tensor<6xi32>
}

// -----

// Trilu with k read at run time.
// CHECK-LABEL: k0_data_movement(const float *__restrict__ in0, const long long *__restrict__ in1, float *__restrict__ out0)
// CHECK: long long [[K:x[0-9]+]] = ds_load(in1, 0);
// CHECK: ((i % 5) - (i / 5)) >= (long long)[[K]] ?
func.func @main(%x: tensor<4x5xf32>, %k: tensor<i64>) -> tensor<4x5xf32> {
  %0 = ds.trilu %x, %k {upper} : (tensor<4x5xf32>, tensor<i64>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

// GatherND: the index depth's values, each wrapped, address the input's
// leading dims; the rest of the output coordinate its trailing ones.
// CHECK-LABEL: k0_data_movement(const float *__restrict__ in0, const long long *__restrict__ in1, float *__restrict__ out0)
// CHECK: long long [[A:x[0-9]+]] = ds_load(in1, (i / 5) * 2);
// CHECK: const long long [[G:g[0-9]+]] = [[A]] < 0 ? [[A]] + 4 : [[A]];
// CHECK: long long [[B:x[0-9]+]] = ds_load(in1, (i / 5) * 2 + 1);
// CHECK: const long long [[H:g[0-9]+]] = [[B]] < 0 ? [[B]] + 6 : [[B]];
// CHECK: ds_load(in0, [[G]] * 30 + [[H]] * 5 + (i % 5));
func.func @main(%x: tensor<4x6x5xf32>, %i: tensor<3x2xi64>) -> tensor<3x5xf32> {
  %0 = ds.gather_nd %x, %i {batch_dims = 0 : i64} : (tensor<4x6x5xf32>, tensor<3x2xi64>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// ScatterElements as a gather: an output element visits the updates on its
// line along the axis and takes, in order, those whose index targets it.
// CHECK-LABEL: k0_data_movement(const float *__restrict__ in0, const long long *__restrict__ in1, const float *__restrict__ in2, float *__restrict__ out0)
// CHECK: float [[R:v[0-9]+]] = {{x[0-9]+}};
// CHECK: if ((i / 5) < 2) {
// CHECK: for (long long [[J:j[0-9]+]] = 0; [[J]] < 3; ++[[J]]) {
// CHECK: const long long [[G:g[0-9]+]] = {{x[0-9]+}} < 0 ? {{x[0-9]+}} + 5 : {{x[0-9]+}};
// CHECK: if ([[G]] != (i % 5)) continue;
// CHECK: [[R]] = [[R]] + {{x[0-9]+}};
func.func @main(%x: tensor<4x5xf32>, %i: tensor<2x3xi64>, %u: tensor<2x3xf32>) -> tensor<4x5xf32> {
  %0 = ds.scatter_elements %x, %i, %u {axis = 1 : i64, reduction = 1 : i32} : (tensor<4x5xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

// ScatterND: one visit per index tuple; the last matching update wins.
// CHECK-LABEL: k0_data_movement(const float *__restrict__ in0, const long long *__restrict__ in1, const float *__restrict__ in2, float *__restrict__ out0)
// CHECK: for (long long [[P:p[0-9]+]] = 0; [[P]] < 3; ++[[P]]) {
// CHECK: const long long [[G:g[0-9]+]] = {{x[0-9]+}} < 0 ? {{x[0-9]+}} + 4 : {{x[0-9]+}};
// CHECK: if ([[G]] != (i / 5)) continue;
// CHECK: [[R:v[0-9]+]] = {{x[0-9]+}};
func.func @main(%x: tensor<4x5xf32>, %i: tensor<3x1xi64>, %u: tensor<3x5xf32>) -> tensor<4x5xf32> {
  %0 = ds.scatter_nd %x, %i, %u {reduction = 0 : i32} : (tensor<4x5xf32>, tensor<3x1xi64>, tensor<3x5xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}
