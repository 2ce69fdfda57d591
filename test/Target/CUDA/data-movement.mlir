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
