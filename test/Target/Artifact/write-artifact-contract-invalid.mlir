// RUN: not ds-compile %s -o %t.dsx 2>&1 | FileCheck %s
// RUN: not test -e %t.dsx
// The writer refuses a step attribute the CPU runtime does not read
// (include/ds-runtime/ds_op_attributes.def), rather than writing an artifact
// the runtime would refuse at load.

// CHECK: error: runtime contract: attribute 'temperature' of ds.softmax is not one the CPU runtime reads
func.func @main(%x: tensor<2x4xf32> {ds.name = "x"}) -> (tensor<2x4xf32> {ds.name = "y"}) {
  %0 = ds.softmax %x {axis = 1 : i64, temperature = 2.0 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
