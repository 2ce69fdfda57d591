// RUN: ds-opt %s --split-input-file --ds-insert-attention-probes="block-size=2 local-blocks=1" -verify-diagnostics | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-insert-attention-probes="block-size=2 local-blocks=1 global-blocks=1" | FileCheck %s --check-prefix=GLOBAL

// A block layout (blocks of 2, the diagonal key block) as the pattern: the
// probe keeps the keys of the layout's blocks, as ds-sparsify-attention
// would lay them out; causality hides the rest of the dense probabilities.
// CHECK-LABEL: func @causal
// CHECK-SAME:  -> (tensor<1x2x4x8xf32>, tensor<2x2xf32> {ds.name = "ds.attention-probe:0"})
// CHECK:       ds.softmax
// CHECK:       ds.constant dense<{{\[}}[true, true, false, false], [true, true, false, false], [false, false, true, true], [false, false, true, true]]>
// CHECK:       ds.reduce sum
// GLOBAL-LABEL: func @causal
// GLOBAL:       ds.softmax
// GLOBAL:       ds.constant dense<{{\[}}[true, true, false, false], [true, true, false, false], [true, true, true, true], [true, true, true, true]]>
func.func @causal(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %o = ds.attention %q, %k, %v {is_causal} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Encoders take block layouts: no diagonal hides keys from the dense
// probabilities, and the layout keeps the key blocks within one block of
// the query block (the first query block sees every key with a global block).
// CHECK-LABEL: func @encoder
// CHECK-SAME:  tensor<2x2xf32> {ds.name = "ds.attention-probe:0"}
// CHECK-NOT:   ds.select
// CHECK:       ds.softmax
// CHECK:       ds.constant dense<{{\[}}[true, true, false, false], [true, true, false, false], [false, false, true, true], [false, false, true, true]]>
// GLOBAL-LABEL: func @encoder
// GLOBAL:       ds.constant dense<true> : tensor<4x4xi1>
func.func @encoder(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %o = ds.attention %q, %k, %v : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A layout's key mask is bounded before it is built.
// CHECK-LABEL: func @too_long
// CHECK-SAME:  -> tensor<1x1x65536x8xf32>
func.func @too_long(%q: tensor<1x1x65536x8xf32>, %k: tensor<1x1x2048x8xf32>, %v: tensor<1x1x2048x8xf32>) -> tensor<1x1x65536x8xf32> {
  // expected-remark @below {{attention 0 not measured: its block layout's key mask would hold more than 2^26 (query, key) pairs}}
  %o = ds.attention %q, %k, %v {is_causal} : (tensor<1x1x65536x8xf32>, tensor<1x1x2048x8xf32>, tensor<1x1x2048x8xf32>) -> tensor<1x1x65536x8xf32>
  return %o : tensor<1x1x65536x8xf32>
}

// -----

// ds-sparsify-attention lays out no soft-capped attention: not measured.
// CHECK-LABEL: func @softcap
// CHECK-SAME:  -> tensor<1x2x4x8xf32>
func.func @softcap(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-remark @below {{attention 0 not measured: a block layout does not take a softcap}}
  %o = ds.attention %q, %k, %v {is_causal, softcap = 3.000000e+01 : f64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
