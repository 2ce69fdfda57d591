// RUN: ds-opt %s --split-input-file --ds-compile-pipeline | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-compile-pipeline="precision=bf16" | FileCheck %s --check-prefix=BF16
// RUN: ds-opt %s --split-input-file --ds-compile-pipeline="quantize=dynamic fuse=false" | FileCheck %s --check-prefix=QUANT
// RUN: printf '# ds calibration table 1\nmethod=minmax samples=1\n-1 1 ds.matmul\n' > %t.table
// RUN: ds-opt %s --split-input-file --ds-compile-pipeline="quantize=static calibration-table=%t.table" | FileCheck %s --check-prefix=STATIC
// RUN: ds-opt %s --split-input-file --ds-compile-pipeline="calibration-probes" | FileCheck %s --check-prefix=PROBES
// ds-opt reproduces the passes ds-compile runs: folding, then CSE, the
// precision assignment (ds-compile --precision), then the fusion groups both
// backends execute.

// CHECK-LABEL: func @main
// CHECK-NEXT: %[[G:.*]] = ds.fusion_group elementwise (%arg0)
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<4xf32>):
// CHECK-NEXT:   %[[A:.*]] = ds.unary exp %[[X]]
// CHECK-NEXT:   %[[B:.*]] = ds.binary add %[[A]], %[[A]]
// CHECK-NEXT:   ds.yield %[[B]]
// CHECK:      return %[[G]]
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = ds.shape %x {end = 1 : i64, start = 0 : i64} : (tensor<4xf32>) -> tensor<1xi64>
  %r = ds.reshape %x, %s : (tensor<4xf32>, tensor<1xi64>) -> tensor<4xf32>
  %0 = ds.unary exp %r : (tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.unary exp %x : (tensor<4xf32>) -> tensor<4xf32>
  %2 = ds.binary add %0, %1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %2 : tensor<4xf32>
}

// -----

// With precision=bf16 the matmul and its epilogue run in bf16 inside one
// contraction group that also casts the result back; the weight is bf16.
// CHECK-LABEL: func @matmul_relu
// CHECK-NOT:   bf16
// BF16-LABEL: func @matmul_relu
// BF16:       ds.fusion_group elementwise (%arg0) : (tensor<2x4xf32>) -> tensor<2x4xbf16>
// BF16:       ds.fusion_group contraction
// BF16:         ds.constant dense<5.000000e-01> : tensor<4x3xbf16>
// BF16:         ds.matmul {{.*}} -> tensor<2x3xbf16>
// BF16-NEXT:    ds.unary relu {{.*}} -> tensor<2x3xbf16>
// BF16-NEXT:    ds.cast {{.*}} to tensor<2x3xf32>
// With quantize=dynamic the weight is int8 and the activation quantized at
// run time.
// QUANT-LABEL: func @matmul_relu
// QUANT:       ds.dynamic_quantize %arg0
// QUANT:       ds.matmul_integer {{.*}} : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>) -> tensor<2x3xi32>
// With quantize=static the activation's quantization is an elementwise
// group with fixed parameters, and the product's scale one constant in the
// contraction group.
// STATIC-LABEL: func @matmul_relu
// STATIC:       ds.fusion_group elementwise (%arg0) : (tensor<2x4xf32>) -> tensor<2x4xui8>
// STATIC:         ds.quantize
// STATIC-NOT:   ds.fusion_group elementwise
// STATIC:       ds.fusion_group contraction
// STATIC:         ds.matmul_integer
// STATIC-NEXT:    ds.cast
// STATIC-NEXT:    ds.binary mul
// STATIC-NEXT:    ds.unary relu
// The calibration run's artifact returns the activation too.
// PROBES-LABEL: func @matmul_relu
// PROBES-SAME:  -> (tensor<2x3xf32>, tensor<2x4xf32> {ds.name = "ds.calibration:ds.matmul"})
func.func @matmul_relu(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = ds.constant dense<0.5> : tensor<4x3xf32>
  %0 = ds.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = ds.unary relu %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
