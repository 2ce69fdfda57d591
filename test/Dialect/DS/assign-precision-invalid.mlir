// RUN: ds-opt %s --split-input-file --ds-assign-precision="policy=bf16" -verify-diagnostics
// RUN: not ds-opt %s --ds-assign-precision="policy=fp4" 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not ds-opt %s --ds-assign-precision="policy=bf16 block-classes=matmul" 2>&1 | FileCheck %s --check-prefix=CLASS
// RUN: not ds-opt %s --split-input-file --ds-assign-precision="policy=bf16 report=%t.missing/dir/report.txt" 2>&1 | FileCheck %s --check-prefix=REPORT
// POLICY: error: ds-assign-precision: unknown policy 'fp4' (expected fp32, fp16, bf16, fp8 or auto)
// CLASS: error: ds-assign-precision: unknown op class 'matmul' in block-classes (expected elementwise, reduction, window, contraction, attention, data_movement, shape, generator or precision)
// REPORT: error: ds-assign-precision: cannot write the report to '{{.*}}report.txt'

// A weight whose bytes are not there cannot be converted: an error on it,
// not a silent f32 weight in a bf16 matmul.
func.func @missing_blob(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{ds-assign-precision: cannot read the f32 values of this constant}}
  %w = ds.constant dense_resource<missing> : tensor<2x2xf32>
  %0 = ds.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @fine(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = ds.matmul %x, %x : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
