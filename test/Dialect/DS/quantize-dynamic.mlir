// RUN: ds-opt %s --split-input-file --ds-quantize-dynamic | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-quantize-dynamic="per-column=false" | FileCheck %s --check-prefix=TENSOR
// RUN: ds-opt %s --split-input-file --ds-quantize-dynamic="exclude-nodes=fc min-weights=0" | FileCheck %s --check-prefix=EXCLUDED
// RUN: ds-opt %s --split-input-file --ds-quantize-dynamic="min-weights=5" | FileCheck %s --check-prefix=EXCLUDED

// Weights to int8 per column (scale = max |w| / 127, half to even), the
// activation quantized at run time, the product scaled back once.
// CHECK-LABEL: func @linear
// CHECK-SAME:  (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-DAG:   %[[Q:.*]], %[[SX:.*]], %[[ZX:.*]] = ds.dynamic_quantize %[[X]] : (tensor<3x2xf32>) -> (tensor<3x2xui8>, tensor<f32>, tensor<ui8>)
// CHECK-DAG:   %[[W:.*]] = ds.constant dense<{{\[\[}}127, -64], [64, 127]]> : tensor<2x2xi8>
// CHECK-DAG:   %[[SW:.*]] = ds.constant dense<[0.00787401571, 0.0314960629]> : tensor<2xf32>
// CHECK:       %[[I:.*]] = ds.matmul_integer %[[Q]], %[[W]] lhs_zero_point %[[ZX]] : (tensor<3x2xui8>, tensor<2x2xi8>, tensor<ui8>) -> tensor<3x2xi32>
// CHECK-NEXT:  %[[F:.*]] = ds.cast %[[I]] : tensor<3x2xi32> to tensor<3x2xf32>
// CHECK-NEXT:  %[[S:.*]] = ds.binary mul %[[SX]], %[[SW]] : (tensor<f32>, tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT:  %[[Y:.*]] = ds.binary mul %[[F]], %[[S]] : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT:  return %[[Y]]
// One scale for the tensor: max |w| = 4.
// TENSOR-LABEL: func @linear
// TENSOR-DAG:   ds.constant dense<{{\[\[}}32, -64], [16, 127]]> : tensor<2x2xi8>
// TENSOR-DAG:   ds.constant dense<0.0314960629> : tensor<f32>
// EXCLUDED-LABEL: func @linear
// EXCLUDED-NOT:   ds.matmul_integer
// EXCLUDED:       ds.matmul %
func.func @linear(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %y = ds.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc")
  return %y : tensor<3x2xf32>
}

// -----

// Q, K and V projections of one activation share its run-time quantization;
// the product of two activations stays f32.
// CHECK-LABEL: func @projections
// CHECK-COUNT-1: ds.dynamic_quantize
// CHECK-NOT:   ds.dynamic_quantize
// CHECK-COUNT-3: ds.matmul_integer
// CHECK:       ds.matmul %{{.*}} : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
func.func @projections(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %wq = ds.constant dense<0.5> : tensor<8x8xf32>
  %wk = ds.constant dense<0.25> : tensor<8x8xf32>
  %wv = ds.constant dense<-0.125> : tensor<8x8xf32>
  %q = ds.matmul %x, %wq : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %k = ds.matmul %x, %wk : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %v = ds.matmul %x, %wv : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %kt = ds.transpose %k {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %s = ds.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %o = ds.binary add %s, %s : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %o : tensor<4x4xf32>
}

// -----

// A transposed constant weight (Gemm with transB) is quantized in its
// transposed [K, N] layout.
// CHECK-LABEL: func @transposed_weight
// CHECK-NOT:   ds.transpose
// CHECK:       ds.constant dense<{{\[\[}}64, 16], [-127, 127]]> : tensor<2x2xi8>
// CHECK:       ds.matmul_integer
func.func @transposed_weight(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %t = ds.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = ds.matmul %x, %t : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// A weight a gather also reads (an output projection tied to the embedding
// table) stays f32.
// CHECK-LABEL: func @tied_weight
// CHECK-NOT:   ds.matmul_integer
func.func @tied_weight(%ids: tensor<3xi64>) -> tensor<3x4xf32> {
  %table = ds.constant dense<0.5> : tensor<4x2xf32>
  %x = ds.gather %table, %ids {axis = 0 : i64} : (tensor<4x2xf32>, tensor<3xi64>) -> tensor<3x2xf32>
  %t = ds.transpose %table {perm = array<i64: 1, 0>} : (tensor<4x2xf32>) -> tensor<2x4xf32>
  %y = ds.matmul %x, %t : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// A matmul whose activation is the previous matmul's result (replaced and
// erased first): both are quantized.
// CHECK-LABEL: func @chained
// CHECK-COUNT-2: ds.matmul_integer
func.func @chained(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w1 = ds.constant dense<0.5> : tensor<8x8xf32>
  %w2 = ds.constant dense<0.25> : tensor<8x8xf32>
  %h = ds.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %y = ds.matmul %h, %w2 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A convolution: weights per output channel (max |w| 2 and 0.5), the run-time
// scale times the channels' scales [M, 1, 1] once, the bias added after.
// CHECK-LABEL: func @conv
// CHECK-SAME:  (%[[X:.*]]: tensor<1x1x4x4xf32>)
// CHECK-DAG:   %[[Q:.*]], %[[SX:.*]], %[[ZX:.*]] = ds.dynamic_quantize %[[X]]
// CHECK-DAG:   %[[W:.*]] = ds.constant dense<{{\[\[\[\[}}127, -64]]], {{\[\[\[}}127, 127]]]]> : tensor<2x1x1x2xi8>
// CHECK:       %[[I:.*]] = ds.conv_integer %[[Q]], %[[W]] input_zero_point %[[ZX]]
// CHECK-NEXT:  %[[F:.*]] = ds.cast %[[I]] : tensor<1x2x4x3xi32> to tensor<1x2x4x3xf32>
// CHECK-NEXT:  %[[SW:.*]] = ds.constant dense<{{\[\[\[}}0.0157480314]], {{\[\[}}0.00393700786]]]> : tensor<2x1x1xf32>
// CHECK-NEXT:  %[[S:.*]] = ds.binary mul %[[SX]], %[[SW]] : (tensor<f32>, tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
// CHECK-NEXT:  %[[Y:.*]] = ds.binary mul %[[F]], %[[S]]
// CHECK:       ds.binary add %[[Y]]
// EXCLUDED-LABEL: func @conv
// EXCLUDED-NOT:   ds.conv_integer
func.func @conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x3xf32> {
  %w = ds.constant dense<[[[[2.0, -1.0]]], [[[0.5, 0.5]]]]> : tensor<2x1x1x2xf32>
  %b = ds.constant dense<[0.25, -0.25]> : tensor<2xf32>
  %y = ds.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x2xf32>, tensor<2xf32>) -> tensor<1x2x4x3xf32> loc("fc")
  return %y : tensor<1x2x4x3xf32>
}
