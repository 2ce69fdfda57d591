// RUN: not ds-compile %s -o %t.dsx 2>&1 | FileCheck %s
// Dynamic dims cannot be written yet; the error says how to bind them.

// CHECK: error: artifact writer: dynamic dims are not supported yet ('tensor<?x4xf32>'); bind them with --ds-input-shape
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = ds.unary relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
