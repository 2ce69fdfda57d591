// RUN: ds-opt %s --split-input-file --ds-fold-weight-dequantize | FileCheck %s

// Per column (axis 1), per tensor, and blocks of rows (axis 0, as ONNX's
// blocked DequantizeLinear) with a zero point fold; the dequantization goes.
// CHECK-LABEL: func @folds
// CHECK:       ds.matmul_quantized_weight %arg0, %[[Q:.*]], %[[S:.*]] {block_size = 0 : i64} : (tensor<2x4xf32>, tensor<4x3xi8>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:       ds.matmul_quantized_weight %arg0, %[[Q]], %{{.*}} {block_size = 0 : i64} : (tensor<2x4xf32>, tensor<4x3xi8>, tensor<f32>) -> tensor<2x3xf32>
// CHECK:       ds.matmul_quantized_weight %arg0, %{{.*}}, %{{.*}} zero_point %{{.*}} {block_size = 2 : i64} : (tensor<2x4xf32>, tensor<4x3xui4>, tensor<2x3xf32>, tensor<2x3xui4>) -> tensor<2x3xf32>
// CHECK-NOT:   ds.dequantize
func.func @folds(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %q = ds.constant dense<3> : tensor<4x3xi8>
  %s = ds.constant dense<0.5> : tensor<3xf32>
  %one = ds.constant dense<0.25> : tensor<f32>
  %q4 = ds.constant dense<9> : tensor<4x3xui4>
  %s4 = ds.constant dense<0.1> : tensor<2x3xf32>
  %z4 = ds.constant dense<8> : tensor<2x3xui4>
  %w = ds.dequantize %q, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<3xf32>) -> tensor<4x3xf32>
  %w1 = ds.dequantize %q, %one {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<f32>) -> tensor<4x3xf32>
  %w4 = ds.dequantize %q4, %s4, %z4 {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x3xui4>, tensor<2x3xf32>, tensor<2x3xui4>) -> tensor<4x3xf32>
  %0 = ds.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = ds.matmul %x, %w1 : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %2 = ds.matmul %x, %w4 : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// A negative axis counts from the end: -1 is the columns, -2 the rows.
// CHECK-LABEL: func @negative_axes
// CHECK:       ds.matmul_quantized_weight %arg0, %{{.*}}, %{{.*}} {block_size = 0 : i64}
// CHECK:       ds.matmul_quantized_weight %arg0, %{{.*}}, %{{.*}} {block_size = 2 : i64}
// CHECK-NOT:   ds.dequantize
func.func @negative_axes(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %q = ds.constant dense<3> : tensor<4x3xi8>
  %s = ds.constant dense<0.5> : tensor<3xf32>
  %sb = ds.constant dense<0.5> : tensor<2x3xf32>
  %w = ds.dequantize %q, %s {axis = -1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<3xf32>) -> tensor<4x3xf32>
  %wb = ds.dequantize %q, %sb {axis = -2 : i64, block_size = 2 : i64} : (tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %0 = ds.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = ds.matmul %x, %wb : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Left alone: scales per row (axis 0 without blocks), a weight computed at
// run time, a 1-D lhs, a one-value scale with a zero point of another shape
// ([1] and a scalar: the fused op wants them alike). A dequantization
// something else reads stays for it.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-4: ds.matmul %
// CHECK:       ds.matmul_quantized_weight
// CHECK:       return {{.*}}%[[D:[0-9]+]] :
func.func @left_alone(%x: tensor<2x4xf32>, %v: tensor<4xf32>, %qin: tensor<4x3xi8>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<4x3xf32>) {
  %one = ds.constant dense<0.5> : tensor<1xf32>
  %zp = ds.constant dense<1> : tensor<i8>
  %q = ds.constant dense<3> : tensor<4x3xi8>
  %wz = ds.dequantize %q, %one, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<1xf32>, tensor<i8>) -> tensor<4x3xf32>
  %4 = ds.matmul %x, %wz : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %rows = ds.constant dense<0.5> : tensor<4xf32>
  %s = ds.constant dense<0.5> : tensor<3xf32>
  %wr = ds.dequantize %q, %rows {axis = 0 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<4xf32>) -> tensor<4x3xf32>
  %win = ds.dequantize %qin, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<3xf32>) -> tensor<4x3xf32>
  %w = ds.dequantize %q, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4x3xi8>, tensor<3xf32>) -> tensor<4x3xf32>
  %0 = ds.matmul %x, %wr : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = ds.matmul %x, %win : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %2 = ds.matmul %v, %w : (tensor<4xf32>, tensor<4x3xf32>) -> tensor<3xf32>
  %3 = ds.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2, %4, %3, %w : tensor<2x3xf32>, tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<4x3xf32>
}

