// RUN: not ds-opt %s --ds-model-summary="output=/nonexistent-dir/summary.txt" 2>&1 | FileCheck %s
// An unwritable summary destination is a pass failure with a diagnostic.

// CHECK: error: cannot write summary output
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
