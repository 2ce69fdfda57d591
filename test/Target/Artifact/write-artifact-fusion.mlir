// RUN: rm -rf %t && mkdir -p %t/op-by-op
// RUN: ds-compile %s -o %t/fused.dsx | FileCheck %s
// RUN: ds-compile %s -o %t/op-by-op.dsx --fuse=false | FileCheck %s --check-prefix=UNFUSED
// RUN: ds-run %t/op-by-op.dsx --runs 1 --warmup 0 --output-dir %t/op-by-op --quiet
// RUN: mv %t/op-by-op/y.npy %t/op-by-op/output_0.npy && mv %t/op-by-op/p.npy %t/op-by-op/output_1.npy && mv %t/op-by-op/n.npy %t/op-by-op/output_2.npy
// RUN: ds-run %t/fused.dsx --runs 1 --warmup 0 --threads 2 --expect-dir %t/op-by-op --rtol 1e-6 --atol 1e-6 | FileCheck %s --check-prefix=EXEC
// RUN: ds-run %t/fused.dsx --runs 1 --warmup 0 --threads 1 --expect-dir %t/op-by-op --rtol 1e-6 --atol 1e-6 | FileCheck %s --check-prefix=EXEC
// The cpu artifact carries ds-fuse's groups and the runtime runs them in
// tiles: a matmul with its bias / GELU / residual epilogue (the GEMM's row
// blocks), a scaled and masked softmax, and a layer norm with its producer. The
// results are those of the same program run op by op (--fuse=false).

// CHECK: ds-compile: wrote {{.*}} 9 steps)
// CHECK: fusion: 9 steps in 3 groups of two or more
// UNFUSED: ds-compile: wrote {{.*}} 9 steps)
// UNFUSED-NOT: fusion:
// EXEC: output 0 'y'
// EXEC: output 1 'p'
// EXEC: output 2 'n'
// EXEC: PASS
func.func @main(%x: tensor<256x64xf32> {ds.name = "x"}, %w: tensor<64x128xf32> {ds.name = "w"},
                %b: tensor<128xf32> {ds.name = "b"}, %r: tensor<256x128xf32> {ds.name = "r"},
                %s: tensor<8x64x64xf32> {ds.name = "s"}, %m: tensor<8x1x64xf32> {ds.name = "m"})
    -> (tensor<256x128xf32> {ds.name = "y"}, tensor<8x64x64xf32> {ds.name = "p"},
        tensor<256x128xf32> {ds.name = "n"}) {
  %0 = ds.matmul %x, %w : (tensor<256x64xf32>, tensor<64x128xf32>) -> tensor<256x128xf32>
  %1 = ds.binary add %0, %b : (tensor<256x128xf32>, tensor<128xf32>) -> tensor<256x128xf32>
  %2 = ds.unary gelu %1 : (tensor<256x128xf32>) -> tensor<256x128xf32>
  %3 = ds.binary add %2, %r : (tensor<256x128xf32>, tensor<256x128xf32>) -> tensor<256x128xf32>
  %half = ds.constant dense<0.5> : tensor<f32>
  %4 = ds.binary mul %s, %half : (tensor<8x64x64xf32>, tensor<f32>) -> tensor<8x64x64xf32>
  %5 = ds.binary add %4, %m : (tensor<8x64x64xf32>, tensor<8x1x64xf32>) -> tensor<8x64x64xf32>
  %6 = ds.softmax %5 {axis = -1 : i64} : (tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %t = ds.unary tanh %r : (tensor<256x128xf32>) -> tensor<256x128xf32>
  %7 = ds.norm mean_var %t, %b {axis = -1 : i64, epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<256x128xf32>, tensor<128xf32>) -> tensor<256x128xf32>
  return %3, %6, %7 : tensor<256x128xf32>, tensor<8x64x64xf32>, tensor<256x128xf32>
}
