// RUN: ds-opt %s --ds-insert-attention-probes="window=4 local-blocks=1" -verify-diagnostics
// RUN: ds-opt %s --ds-insert-attention-probes="block-size=0 local-blocks=1" -verify-diagnostics
// RUN: ds-opt %s --ds-insert-attention-probes="block-size=2 local-blocks=1 stride-blocks=-1" -verify-diagnostics
// RUN: ds-opt %s --ds-insert-attention-probes="window=4 global-blocks=-1" -verify-diagnostics
// RUN: ds-opt %s --ds-insert-attention-probes="local-blocks=-1" -verify-diagnostics

// One pattern at a time, with a block size the layouts take.
// expected-error @below {{ds-insert-attention-probes: a block layout takes local-blocks, stride-blocks and global-blocks >= 0 and block-size in [1, 1024], without window or sinks}}
func.func @bad_layout(%q: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %o = ds.attention %q, %q, %q {is_causal} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
