// RUN: ds-opt --ds-verify-runtime-contract --split-input-file --verify-diagnostics %s
// What the CPU runtime would refuse at load is an error on the op.

// An attribute the runtime does not read (here a discardable one).
func.func @unknown_attribute(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{runtime contract: attribute 'temperature' of ds.softmax is not one the CPU runtime reads (ds_op_attributes.def does not list it)}}
  %0 = ds.softmax %x {axis = 1 : i64, temperature = 2.0 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// A discardable attribute under a name the dialect uses elsewhere is still unknown here.
func.func @attribute_of_another_op(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{runtime contract: attribute 'axis' of ds.binary is not one the CPU runtime reads}}
  %0 = ds.binary add %a, %b {axis = 0 : i64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A value outside the range the runtime accepts (the op's verifier lets it pass).
func.func @out_of_range(%x: tensor<1x2x4x8xf32>, %c: tensor<8x4xf32>, %s: tensor<8x4xf32>, %p: tensor<1x4xi64>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{runtime contract: attribute 'num_heads' of ds.rotary_embedding is -1, outside [0, 9223372036854775807]}}
  %0 = ds.rotary_embedding %x, %c, %s, %p {num_heads = -1 : i64, rotary_embedding_dim = 0 : i64}
       : (tensor<1x2x4x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x4xi64>) -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}
