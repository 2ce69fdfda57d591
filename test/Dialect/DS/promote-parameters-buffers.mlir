// RUN: ds-opt %s --ds-promote-parameters | FileCheck %s
// ds-promote-parameters: constants holding inf or NaN are buffers (an
// exported causal mask), not weights, also when the importer stored them as
// resource blobs (initializers past a few thousand elements are).

// CHECK-LABEL: func.func @main(
// CHECK-SAME: ds.name = "weights", ds.parameter}
// CHECK-NOT: ds.parameter
// CHECK-DAG: ds.constant dense_resource<mask_f32>
// CHECK-DAG: ds.constant dense_resource<mask_bf16>
// CHECK-DAG: ds.constant dense<[0.000000e+00, 0xFF800000]> : tensor<2xf32>
func.func @main(%x: tensor<2xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense_resource<weights> : tensor<2xf32> loc("w")
  %m = ds.constant dense_resource<mask_f32> : tensor<2xf32> loc("mask")
  %h = ds.constant dense_resource<mask_bf16> : tensor<2xbf16> loc("half_mask")
  %d = ds.constant dense<[0.0, 0xFF800000]> : tensor<2xf32> loc("inline_mask")
  %hf = ds.cast %h : tensor<2xbf16> to tensor<2xf32>
  %0 = ds.binary mul %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = ds.binary add %0, %m : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %2 = ds.binary add %1, %hf : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %3 = ds.binary add %2, %d : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %l = ds.reduce sum %3 {axes = array<i64: 0>, keepdims = false} : (tensor<2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

{-#
  dialect_resources: {
    builtin: {
      weights: "0x040000000000803F00000040",
      mask_f32: "0x0400000000000000000080FF",
      mask_bf16: "0x02000000000080FF"
    }
  }
#-}
