// RUN: ds-opt %s --ds-insert-attention-probes -verify-diagnostics

// expected-error @below {{ds-insert-attention-probes needs window > 0}}
func.func @no_pattern(%q: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %o = ds.attention %q, %q, %q {is_causal} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
