// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; np.save('%t/rows.npy', np.ones((4, 4), dtype=bool)); np.save('%t/heads.npy', np.ones((2, 4, 4), dtype=np.uint8)); np.save('%t/floats.npy', np.ones((4, 4), dtype=np.float32)); np.save('%t/two.npy', np.array([[1, 0], [2, 1]], dtype=np.int64)); np.save('%t/flat.npy', np.ones(16, dtype=bool)); np.save('%t/empty.npy', np.ones((4, 0), dtype=bool))"
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="layout-file=%t/rows.npy block-size=32 report=true" --verify-diagnostics -o /dev/null
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/floats.npy" 2>&1 | FileCheck %s --check-prefix=FLOATS
// FLOATS: ds-sparsify-attention: '{{.*}}floats.npy': a block layout holds bools or integers 0 / 1, not floats
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/two.npy" 2>&1 | FileCheck %s --check-prefix=TWO
// TWO: '{{.*}}two.npy': element 2 is 2; a block layout holds 0 (hidden) or 1 (kept)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/flat.npy" 2>&1 | FileCheck %s --check-prefix=FLAT
// FLAT: a block layout is [query blocks, key blocks] or [heads, query blocks, key blocks], not (16,)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/empty.npy" 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: a block layout has no empty dim, not (4, 0)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/missing.npy" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: ds-sparsify-attention: cannot open '{{.*}}missing.npy': No such file or directory
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/rows.npy window=16" 2>&1 | FileCheck %s --check-prefix=MIXED
// MIXED: ds-sparsify-attention: layout-file is a pattern of its own (no window, sinks, select-blocks, local-, stride- or global-blocks), with block-size in [1, 1024] (got block-size 64)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/heads.npy dense-heads=1" 2>&1 | FileCheck %s --check-prefix=DENSE
// DENSE: ds-sparsify-attention: a layout with a row per head (2 in '{{.*}}heads.npy') already says which heads are dense (rows of ones): no dense-heads with it

// 256 queries make 8 blocks of 32, not the file's 4.
func.func @longer(%q: tensor<1x2x256x16xf32>, %k: tensor<1x2x256x16xf32>) -> tensor<1x2x256x16xf32> {
  // expected-error-re @below {{the block layout in '{{.*}}rows.npy' is [1, 4, 4] blocks of 32, but this attention's 2 query heads, 256 queries and 256 keys need [1 or 2, 8, 8]}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x2x256x16xf32>, tensor<1x2x256x16xf32>, tensor<1x2x256x16xf32>) -> tensor<1x2x256x16xf32>
  return %0 : tensor<1x2x256x16xf32>
}

// -----

// Lengths known only at run time: a file's layout cannot be checked.
func.func @dynamic(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  // expected-error @below {{a block layout from a file needs static query and key lengths (bind them with --ds-input-shape)}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  return %0 : tensor<1x2x?x16xf32>
}

// -----

// A layout that keeps every key attention would see: left dense.
func.func @covered(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  // expected-remark @below {{left dense: the block layout keeps every visible key}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32>
  return %0 : tensor<1x2x128x16xf32>
}
