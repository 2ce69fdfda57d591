// RUN: not ds-compile %s --target=cuda -o %t.dsx 2>&1 | FileCheck %s
// The CPU backend plans dynamic dims per input shape; the CUDA backend does
// not yet, and the error says how to bind them.

// CHECK: error: cuda: the CUDA backend needs static shapes ('tensor<?x4xf32>'); bind the dynamic dims with --ds-input-shape
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = ds.unary relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
