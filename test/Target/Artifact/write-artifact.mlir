// RUN: ds-compile %s -o %t.dsx | FileCheck %s
// RUN: ds-run %t.dsx --runs 1 --warmup 0 --threads 1 | FileCheck %s --check-prefix=EXEC
// The writer plans one arena for the intermediates and the runtime runs the steps.

// Four f32[256] intermediates, at most two alive at a time: 2 KiB of arena for 4 KiB.
// CHECK: ds-compile: wrote {{.*}} 4 steps)
// CHECK: arena: 2.0 KiB for 4.0 KiB of intermediate tensors (50.0% saved by reuse)
// EXEC: input 0 'x': random f32[256]
// EXEC: output 0 'y': f32[256] min 0
// EXEC: median
func.func @main(%x: tensor<256xf32> {ds.name = "x"}) -> (tensor<256xf32> {ds.name = "y"}) {
  %one = ds.constant dense<1.0> : tensor<256xf32>
  %0 = ds.binary add %x, %one : (tensor<256xf32>, tensor<256xf32>) -> tensor<256xf32>
  %1 = ds.binary mul %0, %0 : (tensor<256xf32>, tensor<256xf32>) -> tensor<256xf32>
  %2 = ds.unary neg %1 : (tensor<256xf32>) -> tensor<256xf32>
  %3 = ds.unary relu %2 : (tensor<256xf32>) -> tensor<256xf32>
  return %3 : tensor<256xf32>
}
