// RUN: ds-opt %s --ds-assign-precision="policy=fp8 report=-" | FileCheck %s
// RUN: ds-opt %s --ds-assign-precision="policy=fp8 block-nodes=fc" | FileCheck %s --check-prefix=BLOCKED

// The matmul's activation is rounded at run time with the scale of its own
// maximum; the constant weight is stored in fp8 with its scale (max |w| =
// 4: 4 / 448) and dequantized; the relu stays f32.
// CHECK-LABEL: func @linear
// CHECK-SAME:  (%[[X:.*]]: tensor<3x2xf32>)
// CHECK:       %[[ABS:.*]] = ds.unary abs %[[X]]
// CHECK:       %[[MAX:.*]] = ds.reduce max %[[ABS]] {axes = array<i64: 0, 1>, keepdims = false}
// CHECK:       %[[S0:.*]] = ds.binary div %[[MAX]], %{{.*}} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK:       %[[S:.*]] = ds.binary max %[[S0]], %{{.*}}
// CHECK:       %[[Q:.*]] = ds.quantize %[[X]], %[[S]] {{.*}}saturate{{.*}} -> tensor<3x2xf8E4M3FN>
// CHECK:       %[[XR:.*]] = ds.dequantize %[[Q]], %[[S]] {{.*}} -> tensor<3x2xf32>
// CHECK:       %[[W8:.*]] = ds.constant dense<{{\[\[}}1.120000e+02, -2.240000e+02], [5.600000e+01, 4.480000e+02]]> : tensor<2x2xf8E4M3FN>
// CHECK:       %[[SW:.*]] = ds.constant dense<0.00892857183> : tensor<f32>
// CHECK:       %[[WR:.*]] = ds.dequantize %[[W8]], %[[SW]]
// CHECK:       %[[Y:.*]] = ds.matmul %[[XR]], %[[WR]]
// CHECK:       ds.unary relu %[[Y]] : (tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK:       fc ds.matmul fp8 contraction (emulated e4m3)
// CHECK:       summary: 1 contractions in fp8 (emulated), 1 constant operands stored in fp8
// BLOCKED-LABEL: func @linear
// BLOCKED-NOT:   f8E4M3FN
func.func @linear(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %y = ds.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc")
  %z = ds.unary relu %y : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}
