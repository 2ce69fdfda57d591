// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="window=16 dense-heads=9" --verify-diagnostics -o /dev/null
// RUN: not ds-opt %s --ds-sparsify-attention="window=16 dense-heads=x:1" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: ds-sparsify-attention: dense-heads entry 'x:1' is neither a head (H) nor an attention and one of its heads (N:H)
// RUN: not ds-opt %s --ds-sparsify-attention="window=16 dense-heads=1:-2" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: ds-sparsify-attention: dense-heads entry '1:-2' is neither a head (H) nor an attention and one of its heads (N:H)

func.func @out_of_range(%q: tensor<1x8x64x16xf32>, %k: tensor<1x2x64x16xf32>) -> tensor<1x8x64x16xf32> {
  // expected-error @below {{dense-heads names head 9, but this attention has 8 query heads}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x8x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>) -> tensor<1x8x64x16xf32>
  return %0 : tensor<1x8x64x16xf32>
}

// -----

func.func @dynamic_heads(%q: tensor<1x?x8x16xf32>, %k: tensor<1x?x8x16xf32>) -> tensor<1x?x8x16xf32> {
  // expected-error @below {{dense-heads needs static head counts, not ? query and ? KV heads}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x?x8x16xf32>, tensor<1x?x8x16xf32>, tensor<1x?x8x16xf32>) -> tensor<1x?x8x16xf32>
  return %0 : tensor<1x?x8x16xf32>
}

// -----

// A mask whose head dim is neither 1 nor the query heads' cannot be cut.
func.func @mask_heads(%q: tensor<1x12x8x16xf32>, %k: tensor<1x12x8x16xf32>, %m: tensor<1x?x8x8xi1>) -> tensor<1x12x8x16xf32> {
  // expected-error @below {{dense-heads needs the mask's head dim to be 1 or 12, not ?}}
  %0 = ds.attention %q, %k, %k, %m {is_causal} : (tensor<1x12x8x16xf32>, tensor<1x12x8x16xf32>, tensor<1x12x8x16xf32>, tensor<1x?x8x8xi1>) -> tensor<1x12x8x16xf32>
  return %0 : tensor<1x12x8x16xf32>
}
