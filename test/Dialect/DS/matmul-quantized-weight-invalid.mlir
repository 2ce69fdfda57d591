// RUN: ds-opt %s --split-input-file -verify-diagnostics

// The op's verifier: scales that do not fit the weight.
func.func @bad_scales(%x: tensor<2x4xf32>, %q: tensor<4x3xi8>, %s: tensor<3x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ds.matmul_quantized_weight' op scale of shape 3x3 must be 2x3 for a 4x3 weight in blocks of 2 rows}}
  %0 = ds.matmul_quantized_weight %x, %q, %s {block_size = 2 : i64} : (tensor<2x4xf32>, tensor<4x3xi8>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_zero_point(%x: tensor<2x4xf32>, %q: tensor<4x3xi8>, %s: tensor<3xf32>, %z: tensor<3xui8>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ds.matmul_quantized_weight' op zero point has element type 'ui8', expected the weight's 'i8'}}
  %0 = ds.matmul_quantized_weight %x, %q, %s zero_point %z {block_size = 0 : i64} : (tensor<2x4xf32>, tensor<4x3xi8>, tensor<3xf32>, tensor<3xui8>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @per_row(%x: tensor<2x4xf32>, %q: tensor<4x3xi8>, %s: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ds.matmul_quantized_weight' op scale of shape 4 must be one value or 3 for a 4x3 weight}}
  %0 = ds.matmul_quantized_weight %x, %q, %s {block_size = 0 : i64} : (tensor<2x4xf32>, tensor<4x3xi8>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
