// Elementwise groups: broadcast through per-operand strides, vector loads
// when the innermost dim allows, f16 / bf16 loaded as such and computed in float.
// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-cuda-split-gemm-groups --ds-emit-cuda -split-input-file | FileCheck %s

// CHECK-LABEL: k0_elementwise(const float *__restrict__ in0, const float *__restrict__ in1, float *__restrict__ out0)
// CHECK: // elementwise group over 4x64 (256 elements), 4 per thread
// CHECK: if (t >= 64) return;
// CHECK: ds_load_vec<4>(in0, (i / 64) * 64 + (i % 64), [[A:a[0-9]+]]);
// The bias varies along the innermost dim too: one vector load.
// CHECK: ds_load_vec<4>(in1, (i % 64), [[B:a[0-9]+]]);
// CHECK: for (int v = 0; v < 4; ++v) {
// CHECK: float [[S:v[0-9]+]] = [[A]][v] + [[B]][v];
// CHECK: ds_relu([[S]])
// CHECK: ds_store_vec<4>(out0, i, r{{[0-9]+}});
// CHECK: cuda.launch (%0: tensor<4x64xf32>, %1: tensor<64xf32>) -> (%2: tensor<4x64xf32>) kernel="k0_elementwise" grid=array<i64: 1, 1, 1> block=array<i64: 64, 1, 1> shared_bytes=0
func.func @main(%x: tensor<4x64xf32>, %b: tensor<64xf32>) -> tensor<4x64xf32> {
  %r = ds.fusion_group elementwise (%x, %b) : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32> {
  ^bb0(%a: tensor<4x64xf32>, %c: tensor<64xf32>):
    %s = ds.binary add %a, %c : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
    %t = ds.unary relu %s : (tensor<4x64xf32>) -> tensor<4x64xf32>
    ds.yield %t : tensor<4x64xf32>
  }
  return %r : tensor<4x64xf32>
}

// -----

// A per-row scale broadcast along the innermost dim: one scalar load.
// CHECK-LABEL: k0_elementwise(const __half *__restrict__ in0, const __half *__restrict__ in1, __half *__restrict__ out0)
// CHECK: 8 per thread
// CHECK: ds_load_vec<8>(in0,
// CHECK: for (int v = 0; v < 8; ++v) {
// CHECK: float {{x[0-9]+}} = ds_load(in1, ((i / 16) % 3));
// CHECK: ds_store_vec<8>(out0, i,
func.func @main(%x: tensor<2x3x16xf16>, %s: tensor<3x1xf16>) -> tensor<2x3x16xf16> {
  %r = ds.binary mul %x, %s : (tensor<2x3x16xf16>, tensor<3x1xf16>) -> tensor<2x3x16xf16>
  return %r : tensor<2x3x16xf16>
}

// -----

// An innermost dim that no vector width divides: one element per thread.
// CHECK-LABEL: k0_elementwise(const __nv_bfloat16 *__restrict__ in0, __nv_bfloat16 *__restrict__ out0)
// CHECK: (15 elements), 1 per thread
// CHECK: float [[X:x[0-9]+]] = ds_load(in0, (i / 5) * 5 + (i % 5));
// CHECK: ds_gelu([[X]])
// CHECK: ds_store(out0, i,
func.func @main(%x: tensor<3x5xbf16>) -> tensor<3x5xbf16> {
  %r = ds.unary gelu %x : (tensor<3x5xbf16>) -> tensor<3x5xbf16>
  return %r : tensor<3x5xbf16>
}

// -----

// Casts round to the narrower float type; comparisons produce bools (one
// byte each), selects read them.
// CHECK-LABEL: k0_elementwise
// CHECK: ds_round_f16((float)
// CHECK-LABEL: k1_elementwise({{.*}}, bool *__restrict__ out0)
// CHECK: bool {{v[0-9]+}} = a{{[0-9]+}}[v] < a{{[0-9]+}}[v];
// CHECK-LABEL: k2_elementwise(const bool *__restrict__ in0,
// CHECK: bool [[C:a[0-9]+]][4];
// CHECK: [[C]][v] ? a{{[0-9]+}}[v] : a{{[0-9]+}}[v];
func.func @main(%x: tensor<8xf32>, %y: tensor<8xf32>) -> (tensor<8xf16>, tensor<8xf32>) {
  %h = ds.cast %x : tensor<8xf32> to tensor<8xf16>
  %c = ds.compare lt %x, %y : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xi1>
  %s = ds.select %c, %x, %y : (tensor<8xi1>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %h, %s : tensor<8xf16>, tensor<8xf32>
}
