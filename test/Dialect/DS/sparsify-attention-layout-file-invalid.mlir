// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; np.save('%t/rows.npy', np.ones((4, 4), dtype=bool)); np.save('%t/heads.npy', np.ones((2, 4, 4), dtype=np.uint8)); np.save('%t/floats.npy', np.ones((4, 4), dtype=np.float32)); np.save('%t/two.npy', np.array([[1, 0], [2, 1]], dtype=np.int64)); np.save('%t/flat.npy', np.ones(16, dtype=bool)); np.save('%t/empty.npy', np.ones((4, 0), dtype=bool)); np.save('%t/big.npy', np.ones((4097, 4097), dtype=bool)); np.save('%t/swapped.npy', np.array([[1, 0], [0, 3]], dtype='>i4')); np.save('%t/short.npy', np.array([[1, 0], [-1, 1]], dtype=np.int16)); np.save('%t/fortran.npy', np.asfortranarray(np.array([[1, 0, 1], [0, 1, 7]], dtype=np.uint16)))"
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="layout-file=%t/rows.npy block-size=32 report=true" --verify-diagnostics -o /dev/null
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/floats.npy" 2>&1 | FileCheck %s --check-prefix=FLOATS
// FLOATS: ds-sparsify-attention: '{{.*}}floats.npy': a block layout holds bools or integers 0 / 1, not floats
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/two.npy" 2>&1 | FileCheck %s --check-prefix=TWO
// TWO: '{{.*}}two.npy': element 2 is 2; a block layout holds 0 (hidden) or 1 (kept)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/flat.npy" 2>&1 | FileCheck %s --check-prefix=FLAT
// FLAT: a block layout is [query blocks, key blocks] or [heads, query blocks, key blocks], not (16,)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/empty.npy" 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: a block layout has no empty dim, not (4, 0)
// Values read whatever their width, byte order or storage order: element 3
// of the big-endian file, element 2 of the int16 one, element 5 (row 1,
// column 2) of the Fortran-ordered one.
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/swapped.npy" 2>&1 | FileCheck %s --check-prefix=SWAPPED
// SWAPPED: '{{.*}}swapped.npy': element 3 is 3; a block layout holds 0 (hidden) or 1 (kept)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/short.npy" 2>&1 | FileCheck %s --check-prefix=SHORT
// SHORT: '{{.*}}short.npy': element 2 is -1; a block layout holds 0 (hidden) or 1 (kept)
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/fortran.npy" 2>&1 | FileCheck %s --check-prefix=FORTRAN
// FORTRAN: '{{.*}}fortran.npy': element 5 is 7; a block layout holds 0 (hidden) or 1 (kept)
// The 2^24-block bound, checked from the header before the data is read.
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/big.npy" 2>&1 | FileCheck %s --check-prefix=BIG
// BIG: '{{.*}}big.npy': shape (4097, 4097) holds 16785409 elements, more than the 16777216 allowed here
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/missing.npy" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: ds-sparsify-attention: cannot open '{{.*}}missing.npy': No such file or directory
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/rows.npy window=16" 2>&1 | FileCheck %s --check-prefix=MIXED
// MIXED: ds-sparsify-attention: layout-file is a pattern of its own (no window, sinks, select-blocks, local-, stride- or global-blocks), with block-size in [1, 1024] (got window 16, sinks 0, select-blocks 0, local 0, stride 0, global 0, block-size 64)
// A row per head for an attention with another head count.
// RUN: not ds-opt %s --split-input-file --ds-sparsify-attention="layout-file=%t/heads.npy block-size=32" 2>&1 | FileCheck %s --check-prefix=HEADS
// HEADS: error: the block layout in '{{.*}}heads.npy' is [2, 4, 4] blocks of 32, but this attention's 128 queries and 128 keys need [1 or 4, 4, 4]
// RUN: not ds-opt %s --ds-sparsify-attention="layout-file=%t/heads.npy dense-heads=1" 2>&1 | FileCheck %s --check-prefix=DENSE
// DENSE: ds-sparsify-attention: a layout with a row per head (2 in '{{.*}}heads.npy') already says which heads are dense (rows of ones): no dense-heads with it

// 256 queries make 8 blocks of 32, not the file's 4.
func.func @longer(%q: tensor<1x2x256x16xf32>, %k: tensor<1x2x256x16xf32>) -> tensor<1x2x256x16xf32> {
  // expected-error-re @below {{the block layout in '{{.*}}rows.npy' is [1, 4, 4] blocks of 32, but this attention's 256 queries and 256 keys need [1, 8, 8]}}
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

// -----

// Four query heads: the two-head layout fits neither 1 nor 4 (the RUN line
// with heads.npy checks the message; here, with rows.npy, it fits).
func.func @four_heads(%q: tensor<1x4x128x16xf32>, %k: tensor<1x4x128x16xf32>) -> tensor<1x4x128x16xf32> {
  // expected-remark @below {{left dense: the block layout keeps every visible key}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>) -> tensor<1x4x128x16xf32>
  return %0 : tensor<1x4x128x16xf32>
}
