// ds.topk: one block per slice; the radix select and bitonic sort are the
// template in kernels/TopK.cuh (results checked by host-emulation.test).
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// Over the last axis: 32-bit keys for f32, the input read in place.
// CHECK-LABEL: k0_reduction(const float *__restrict__ in0, float *__restrict__ out0, long long *__restrict__ out1)
// CHECK: // top 2 of 300 along axis 1, one block per slice
// CHECK: auto load = [&](long long e) {
// CHECK-NEXT: return ds_load(in0, e);
// CHECK-NEXT: };
// CHECK: ds_topk_slice<32>(load, out0, out1, (long long)300, (long long)2, (long long)1, true);
// CHECK: kernel="k0_reduction" grid=array<i64: 3, 1, 1> block=array<i64: 256, 1, 1>
func.func @main(%x: tensor<3x300xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  %k = ds.constant dense<2> : tensor<1xi64>
  %v, %i = ds.topk %x, %k {axis = 1 : i64, largest = true, sorted = true} : (tensor<3x300xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  return %v, %i : tensor<3x2xf32>, tensor<3x2xi64>
}

// -----

// A leading axis of f64 data, smallest first: 64-bit keys, slices strided by
// the 4 x 5 elements after the axis, one block per (outer, inner) position.
// CHECK-LABEL: k0_reduction(const double *__restrict__ in0, double *__restrict__ out0, long long *__restrict__ out1)
// CHECK: ds_topk_slice<64>(load, out0, out1, (long long)7, (long long)7, (long long)20, false);
// CHECK: grid=array<i64: 40, 1, 1> block=array<i64: 32, 1, 1>
func.func @main(%x: tensor<2x7x4x5xf64>) -> (tensor<2x7x4x5xf64>, tensor<2x7x4x5xi64>) {
  %k = ds.constant dense<7> : tensor<1xi64>
  %v, %i = ds.topk %x, %k {axis = 1 : i64, largest = false, sorted = true} : (tensor<2x7x4x5xf64>, tensor<1xi64>) -> (tensor<2x7x4x5xf64>, tensor<2x7x4x5xi64>)
  return %v, %i : tensor<2x7x4x5xf64>, tensor<2x7x4x5xi64>
}

// -----

// A constant input cloned into the group (a small graph input bound at
// compile time, as --ds-fuse clones it) is read through the writer's
// constant table.
// CHECK-LABEL: k0_reduction(long long *__restrict__ out0, long long *__restrict__ out1)
// CHECK: auto load = [&](long long e) {
// CHECK-NOT: ds_load(in
// CHECK: ds_topk_slice<64>(load, out0, out1, (long long)4, (long long)3, (long long)1, true);
func.func @main() -> (tensor<3xi64>, tensor<3xi64>) {
  %r:2 = ds.fusion_group reduction () : () -> (tensor<3xi64>, tensor<3xi64>) {
  ^bb0:
    %x = ds.constant dense<[3, 1, 3, 2]> : tensor<4xi64>
    %k = ds.constant dense<3> : tensor<1xi64>
    %v, %i = ds.topk %x, %k {axis = 0 : i64, largest = true, sorted = true} : (tensor<4xi64>, tensor<1xi64>) -> (tensor<3xi64>, tensor<3xi64>)
    ds.yield %v, %i : tensor<3xi64>, tensor<3xi64>
  }
  return %r#0, %r#1 : tensor<3xi64>, tensor<3xi64>
}
