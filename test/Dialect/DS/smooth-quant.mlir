// RUN: printf '# ds calibration table 1\nmethod=minmax samples=1 smooth-quant=0.5\n-8 8 fc\nabsmax 8,0.5 fc\n-1 1 qkv\nabsmax 16,1 qkv\n-1 1 qkv#1\nabsmax 16,1 qkv#1\n-1 1 t\nabsmax 8,0.5 t\n' > %t.table
// RUN: ds-opt %s --split-input-file --ds-smooth-quant="table=%t.table" | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-smooth-quant="table=%t.table alpha=1.0" | FileCheck %s --check-prefix=ALPHA1
// RUN: printf '# ds calibration table 1\nmethod=minmax samples=1\n-8 8 fc\nabsmax 8,0.5 fc\n' > %t.plain
// RUN: ds-opt %s --split-input-file --ds-smooth-quant="table=%t.plain" | FileCheck %s --check-prefix=PLAIN

// alpha 0.5: s = sqrt(max|x_j| / max|w_j|) = [sqrt(8/2), sqrt(0.5/4)] =
// [2, 0.354], rounded to powers of two [2, 0.25]: the activation is
// multiplied by 1/s, the weight rows by s (both exact).
// CHECK-LABEL: func @linear
// CHECK-SAME:  (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-DAG:   %[[INV:.*]] = ds.constant dense<[5.000000e-01, 4.000000e+00]> : tensor<2xf32>
// CHECK-DAG:   %[[XS:.*]] = ds.binary mul %[[X]], %[[INV]] : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-DAG:   %[[W:.*]] = ds.constant dense<{{\[\[}}2.000000e+00, -4.000000e+00], [1.250000e-01, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK:       ds.matmul %[[XS]], %[[W]]
// alpha 1: s = max|x_j| = [8, 0.5].
// ALPHA1-LABEL: func @linear
// ALPHA1:       ds.constant dense<[1.250000e-01, 2.000000e+00]> : tensor<2xf32>
// A table calibrated without smoothing leaves the model alone.
// PLAIN-LABEL: func @linear
// PLAIN-NOT:   ds.binary
// PLAIN:       ds.matmul %arg0
func.func @linear(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %y = ds.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc")
  return %y : tensor<3x2xf32>
}

// -----

// Two matmuls of one activation share its factors, from the larger weight
// row of the two: s = [sqrt(16/4), sqrt(1/1)] = [2, 1].
// CHECK-LABEL: func @shared
// CHECK:       ds.constant dense<[5.000000e-01, 1.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:  ds.binary mul
// CHECK-NOT:   ds.binary mul
// CHECK-DAG:   ds.constant dense<{{\[\[}}2.000000e+00, 2.000000e+00], [1.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG:   ds.constant dense<{{\[\[}}8.000000e+00, 8.000000e+00], [-1.000000e+00, -1.000000e+00]]> : tensor<2x2xf32>
func.func @shared(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %wq = ds.constant dense<[[1.0, 1.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %wk = ds.constant dense<[[4.0, 4.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  %q = ds.matmul %x, %wq : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32> loc("qkv")
  %k = ds.matmul %x, %wk : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32> loc("qkv")
  return %q, %k : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// A transposed [N, K] weight is scaled along K in its own layout.
// CHECK-LABEL: func @transposed
// CHECK:       ds.constant dense<{{\[\[}}2.000000e+00, 1.250000e-01], [-4.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK:       ds.transpose
func.func @transposed(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant dense<[[1.0, 0.5], [-2.0, 4.0]]> : tensor<2x2xf32>
  %wt = ds.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = ds.matmul %x, %wt : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("t")
  return %y : tensor<3x2xf32>
}

// -----

// A dynamic activation (batch and sequence unknown): the channels are the
// weight's K.
// CHECK-LABEL: func @dynamic
// CHECK:       ds.binary mul %arg0, %{{.*}} : (tensor<?x?x2xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
func.func @dynamic(%x: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %y = ds.matmul %x, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32> loc("fc")
  return %y : tensor<?x?x2xf32>
}
