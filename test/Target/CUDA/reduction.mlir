// Reduction groups: one block per row, fp32 block reductions, producers
// recomputed on each pass, consumers fused into the last pass.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// Softmax over the last axis with a fused mask add before it.
// CHECK-LABEL: k0_reduction(const float *__restrict__ in0, const float *__restrict__ in1, float *__restrict__ out0)
// CHECK: // ds.softmax over rows of 16 (8 rows), one block per row
// CHECK: float rmax = -DS_INF;
// CHECK: for (long long j = threadIdx.x; j < 16; j += blockDim.x) {
// CHECK: rmax = fmaxf(rmax,
// CHECK: rmax = ds_block_reduce<1>(rmax);
// CHECK: rsum += ds_exp({{.*}} - rmax);
// CHECK: rsum = ds_block_reduce<0>(rsum);
// CHECK: ds_exp({{.*}} - rmax) / rsum;
// CHECK: ds_store(out0,
// CHECK: kernel="k0_reduction" grid=array<i64: 8, 1, 1> block=array<i64: 32, 1, 1>
func.func @main(%x: tensor<2x4x16xf32>, %m: tensor<16xf32>) -> tensor<2x4x16xf32> {
  %r = ds.fusion_group reduction (%x, %m) : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32> {
  ^bb0(%a: tensor<2x4x16xf32>, %b: tensor<16xf32>):
    %s = ds.binary add %a, %b : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
    %p = ds.softmax %s {axis = -1 : i64} : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
    ds.yield %p : tensor<2x4x16xf32>
  }
  return %r : tensor<2x4x16xf32>
}

// -----

// Layer norm with scale and bias (f16 data, fp32 statistics).
// CHECK-LABEL: k0_reduction(const __half *__restrict__ in0, const __half *__restrict__ in1, const __half *__restrict__ in2, __half *__restrict__ out0)
// CHECK: // ds.norm over rows of 768 (4 rows), one block per row
// CHECK: rsum = ds_block_reduce<0>(rsum);
// CHECK: const float mean = rsum / 768.0f;
// CHECK: rvar += ({{.*}} - mean) * ({{.*}} - mean);
// CHECK: const float rstd = rsqrtf(rvar / 768.0f + 1e-05f);
// CHECK: float [[Y:y[0-9]+]] = ({{.*}} - mean) * rstd;
// CHECK: [[Y]] *= {{x[0-9]+}};
// CHECK: [[Y]] += {{x[0-9]+}};
// CHECK: block=array<i64: 256, 1, 1>
func.func @main(%x: tensor<4x768xf16>, %g: tensor<768xf16>, %b: tensor<768xf16>) -> tensor<4x768xf16> {
  %0 = ds.norm mean_var %x, %g, %b {axis = -1 : i64, epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<4x768xf16>, tensor<768xf16>, tensor<768xf16>) -> tensor<4x768xf16>
  return %0 : tensor<4x768xf16>
}

// -----

// RMS norm (bf16) followed by a fused elementwise consumer.
// CHECK-LABEL: k0_reduction(const __nv_bfloat16 *__restrict__ in0, const __nv_bfloat16 *__restrict__ in1, __nv_bfloat16 *__restrict__ out0)
// CHECK: const float mean = 0;
// CHECK: rvar += [[X:x[0-9]+]] * [[X]];
// CHECK: const float rstd = rsqrtf(rvar / 64.0f
// CHECK: ds_sigmoid(
func.func @main(%x: tensor<1x16x64xbf16>, %g: tensor<64xbf16>) -> tensor<1x16x64xbf16> {
  %r = ds.fusion_group reduction (%x, %g) : (tensor<1x16x64xbf16>, tensor<64xbf16>) -> tensor<1x16x64xbf16> {
  ^bb0(%a: tensor<1x16x64xbf16>, %b: tensor<64xbf16>):
    %n = ds.norm rms %a, %b {axis = 2 : i64, epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<1x16x64xbf16>, tensor<64xbf16>) -> tensor<1x16x64xbf16>
    %s = ds.unary sigmoid %n : (tensor<1x16x64xbf16>) -> tensor<1x16x64xbf16>
    ds.yield %s : tensor<1x16x64xbf16>
  }
  return %r : tensor<1x16x64xbf16>
}

// -----

// Global average pooling as reduce mean over the trailing axes: thread 0
// stores the row's result.
// CHECK-LABEL: k0_reduction(const float *__restrict__ in0, float *__restrict__ out0)
// CHECK: // ds.reduce over rows of 64 (32 rows)
// CHECK: racc = ds_block_reduce<0>(racc);
// CHECK: racc /= 64.0f;
// CHECK: if (threadIdx.x == 0) {
// CHECK: ds_store(out0, row, racc);
func.func @main(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x1x1xf32> {
  %0 = ds.reduce mean %x {axes = array<i64: 2, 3>, keepdims = true} : (tensor<1x32x8x8xf32>) -> tensor<1x32x1x1xf32>
  return %0 : tensor<1x32x1x1xf32>
}

// -----

// Integer reductions are exact: a signed max compares as long long from the
// type's lowest value, an i32 sum wraps in unsigned long long, the mean
// divides the 64-bit sum as signed; results go back to the compute type.
// CHECK-LABEL: k0_reduction(const int *__restrict__ in0, int *__restrict__ out0)
// CHECK: long long racc = (-2147483648LL);
// CHECK: racc = ds_max(racc, (long long)(x{{[0-9]+}}));
// CHECK: racc = ds_block_reduce<1>(racc);
// CHECK: ds_store(out0, row, ((int)racc));
// CHECK-LABEL: k1_reduction(const int *__restrict__ in0, int *__restrict__ out0)
// CHECK: unsigned long long racc = 0;
// CHECK: racc += (unsigned long long)(x{{[0-9]+}});
// CHECK: racc = (7 > 0 ? (unsigned long long)((long long)racc / (long long)7) : 0ULL);
// CHECK: ds_store(out0, row, ((int)racc));
func.func @main(%x: tensor<5x7xi32>) -> (tensor<5xi32>, tensor<5xi32>) {
  %0 = ds.reduce max %x {axes = array<i64: 1>, keepdims = false} : (tensor<5x7xi32>) -> tensor<5xi32>
  %1 = ds.reduce mean %x {axes = array<i64: 1>, keepdims = false} : (tensor<5x7xi32>) -> tensor<5xi32>
  return %0, %1 : tensor<5xi32>, tensor<5xi32>
}
