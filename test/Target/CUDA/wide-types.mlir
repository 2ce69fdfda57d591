// f64 computes in double (double math, double block reductions), ui64 in
// unsigned long long with exact literals.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// CHECK-LABEL: k0_elementwise(const double *__restrict__ in0, double *__restrict__ out0)
// CHECK: double [[A:a[0-9]+]][2];
// CHECK: double [[E:v[0-9]+]] = exp([[A]][v]);
// CHECK: double [[S:v[0-9]+]] = ds_sigmoid([[E]]);
// CHECK: const double [[C:c[0-9]+]] = 0.10000000000000001;
// CHECK: double {{v[0-9]+}} = fmax([[S]], [[C]]);
func.func @main(%x: tensor<4xf64>) -> tensor<4xf64> {
  %r = ds.fusion_group elementwise (%x) : (tensor<4xf64>) -> tensor<4xf64> {
  ^bb0(%a: tensor<4xf64>):
    %c = ds.constant dense<0.1> : tensor<f64>
    %0 = ds.unary exp %a : (tensor<4xf64>) -> tensor<4xf64>
    %1 = ds.unary sigmoid %0 : (tensor<4xf64>) -> tensor<4xf64>
    %2 = ds.binary max %1, %c : (tensor<4xf64>, tensor<f64>) -> tensor<4xf64>
    ds.yield %2 : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}

// -----

// CHECK-LABEL: k0_elementwise(const unsigned long long *__restrict__ in0, unsigned long long *__restrict__ out0)
// CHECK: const unsigned long long [[C:c[0-9]+]] = 18446744073709551615ULL;
// CHECK: unsigned long long {{v[0-9]+}} = ds_mod({{a[0-9]+}}[v], [[C]]);
func.func @main(%x: tensor<4xui64>) -> tensor<4xui64> {
  %r = ds.fusion_group elementwise (%x) : (tensor<4xui64>) -> tensor<4xui64> {
  ^bb0(%a: tensor<4xui64>):
    %c = ds.constant dense<18446744073709551615> : tensor<ui64>
    %0 = ds.binary mod %a, %c : (tensor<4xui64>, tensor<ui64>) -> tensor<4xui64>
    ds.yield %0 : tensor<4xui64>
  }
  return %r : tensor<4xui64>
}

// -----

// log-sum-exp in double: the max, then the sum of exp(x - max).
// CHECK-LABEL: k0_reduction(const double *__restrict__ in0, double *__restrict__ out0)
// CHECK: double rmax = -DS_INF;
// CHECK: rmax = fmax(rmax,
// CHECK: rmax = ds_block_reduce<1>(rmax);
// CHECK: double racc = 0;
// CHECK: racc += exp({{.*}} - rmax);
// CHECK: racc = isfinite(rmax) ? rmax + log(racc) : rmax;
func.func @main(%x: tensor<3x5xf64>) -> tensor<3xf64> {
  %0 = ds.reduce log_sum_exp %x {axes = array<i64: 1>, keepdims = false} : (tensor<3x5xf64>) -> tensor<3xf64>
  return %0 : tensor<3xf64>
}

// -----

// A reduce without keepdims shares its group with a row result that does not
// read it.
// CHECK-LABEL: k0_reduction(const float *__restrict__ in0, float *__restrict__ out0, float *__restrict__ out1)
// CHECK: float racc = 0;
// CHECK: ds_store(out0, {{.*}}, {{v[0-9]+}});
// CHECK: if (threadIdx.x == 0) {
// CHECK: ds_store(out1, row, racc);
func.func @main(%x: tensor<3x5xf32>) -> (tensor<3x5xf32>, tensor<3xf32>) {
  %r:2 = ds.fusion_group reduction (%x) : (tensor<3x5xf32>) -> (tensor<3x5xf32>, tensor<3xf32>) {
  ^bb0(%a: tensor<3x5xf32>):
    %n = ds.unary neg %a : (tensor<3x5xf32>) -> tensor<3x5xf32>
    %s = ds.reduce sum %n {axes = array<i64: 1>, keepdims = false} : (tensor<3x5xf32>) -> tensor<3xf32>
    ds.yield %n, %s : tensor<3x5xf32>, tensor<3xf32>
  }
  return %r#0, %r#1 : tensor<3x5xf32>, tensor<3xf32>
}

// -----

// Lp pooling: the sum of |x|^p over the window, then its p-th root.
// CHECK-LABEL: k0_reduction
// CHECK: float [[ACC:acc[0-9]+]] = 0;
// CHECK: [[ACC]] += powf(fabsf({{x[0-9]+}}), 3);
// CHECK: [[ACC]] = powf([[ACC]], 1.0 / 3);
func.func @main(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x7x7xf32> {
  %0 = ds.pool lp %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, p = 3 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x7x7xf32>
  return %0 : tensor<1x2x7x7xf32>
}

// -----

// float8: one byte each, loaded and stored through the CPU runtime's codec
// (Float8Codec.h, embedded before the prelude); a cast rounds into the format
// with its saturate flag.
// CHECK: #define DS_F8_FN __device__ __forceinline__
// CHECK: ds_f8_encode(
// CHECK-LABEL: k0_elementwise(const float *__restrict__ in0, ds_f8e4m3fn *__restrict__ out0, ds_f8e5m2 *__restrict__ out1)
// CHECK: float {{v[0-9]+}} = ds_round_f8((float){{a[0-9]+}}[v], 0, true);
// CHECK: float {{v[0-9]+}} = ds_round_f8((float){{a[0-9]+}}[v], 1, false);
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf8E4M3FN>, tensor<4xf8E5M2>) {
  %r:2 = ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> (tensor<4xf8E4M3FN>, tensor<4xf8E5M2>) {
  ^bb0(%a: tensor<4xf32>):
    %0 = ds.cast %a {saturate} : tensor<4xf32> to tensor<4xf8E4M3FN>
    %1 = ds.cast %a : tensor<4xf32> to tensor<4xf8E5M2>
    ds.yield %0, %1 : tensor<4xf8E4M3FN>, tensor<4xf8E5M2>
  }
  return %r#0, %r#1 : tensor<4xf8E4M3FN>, tensor<4xf8E5M2>
}

// -----

// float8 quantize: the float sum rounded into the format; dequantize
// subtracts the decoded zero point (a vector of codes per thread: a
// per-tensor dequantize reads its input at the element's own position).
// CHECK-LABEL: k0_elementwise
// CHECK: const float [[R:v[0-9]+]] = ds_round_f8((float)({{q[0-9]+}} + (float){{x[0-9]+}}), 2, true);
// CHECK-LABEL: k1_elementwise
// CHECK: elementwise group over 4 (4 elements), 4 per thread
// CHECK: float {{v[0-9]+}} = ((float){{a[0-9]+}}[v] - (float){{x[0-9]+}}) * (float){{x[0-9]+}};
func.func @main(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<f8E4M3FNUZ>) -> tensor<4xf32> {
  %q = ds.quantize %x, %s, %z {axis = 1 : i64, block_size = 0 : i64, saturate} : (tensor<4xf32>, tensor<f32>, tensor<f8E4M3FNUZ>) -> tensor<4xf8E4M3FNUZ>
  %d = ds.dequantize %q, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf8E4M3FNUZ>, tensor<f32>, tensor<f8E4M3FNUZ>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}
