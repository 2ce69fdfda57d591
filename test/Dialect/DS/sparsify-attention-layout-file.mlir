// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; np.save('%t/rows.npy', np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 1]], dtype=np.int8))"
// RUN: %python -c "import numpy as np; np.save('%t/heads.npy', np.array([[[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 1]], [[1, 0, 1, 0]] * 4], dtype=bool))"
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="layout-file=%t/rows.npy block-size=32 report=true" --verify-diagnostics | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="layout-file=%t/heads.npy block-size=32" 2>/dev/null | FileCheck %s --check-prefix=HEADS
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="layout-file=%t/heads.npy block-size=32" 2>&1 >/dev/null | FileCheck %s --check-prefix=HEADS-WARN
// HEADS-WARN: warning: 1 of 8 layout rows (head, query block) keep no key their queries can see, though they see some without the layout: those queries give 0
// HEADS-WARN-NOT: warning
// One layout for every head with head 1 left dense: the attention is split
// and only head 0's piece takes the layout.
// RUN: ds-opt %s --split-input-file --ds-sparsify-attention="layout-file=%t/rows.npy block-size=32 dense-heads=1" 2>/dev/null | FileCheck %s --check-prefix=SPLIT
// SPLIT-LABEL: func.func @decoder
// SPLIT: ds.block_sparse_attention {{.*}} : (tensor<1x1x128x16xf32>, tensor<1x1x128x16xf32>, tensor<1x1x128x16xf32>, tensor<1x4x4xi1>) -> tensor<1x1x128x16xf32>
// SPLIT: ds.attention {{.*}} -> tensor<1x1x128x16xf32>
// SPLIT: ds.concat
// The compile pipeline's option and ds-compile's flag reach the pass.
// RUN: ds-opt %s --ds-compile-pipeline="attention-layout-file=%t/rows.npy attention-block-size=32" 2>/dev/null | FileCheck %s --check-prefix=PIPELINE
// PIPELINE-COUNT-2: ds.block_sparse_attention
// RUN: not ds-compile %s -o %t/model.dsx --attention-layout-file=%t/rows.npy 2>&1 | FileCheck %s --check-prefix=FLAG
// FLAG: error: the block layout in '{{.*}}rows.npy' is [1, 4, 4] blocks of 64, but this attention's 128 queries and 128 keys need [1, 2, 2]

// A layout of 4 x 4 blocks of 32 (int8 0 / 1) for every head. Causal: row 2
// keeps only key block 3, past its diagonal, so its queries see nothing
// (warned); pairs: 528 + (1024 + 528) + 0 + (1024 + 528) = 3632.
// CHECK-LABEL: func.func @decoder
// CHECK: %[[L:.*]] = ds.constant dense<{{\[\[}}[true, false, false, false], [true, true, false, false], [false, false, false, true], [true, false, false, true]]]> : tensor<1x4x4xi1>
// CHECK: ds.block_sparse_attention %arg0, %arg1, %arg1, %[[L]] {block_size = 32 : i64, is_causal}
// A layout row per query head: head 1 keeps key blocks 0 and 2 everywhere.
// HEADS-LABEL: func.func @decoder
// HEADS: ds.constant dense<{{\[\[}}[true, false, false, false], [true, true, false, false], [false, false, false, true], [true, false, false, true]], {{\[\[}}true, false, true, false], [true, false, true, false], [true, false, true, false], [true, false, true, false]]]> : tensor<2x4x4xi1>
// HEADS: ds.block_sparse_attention {{.*}} tensor<2x4x4xi1>) -> tensor<1x2x128x16xf32>
func.func @decoder(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  // expected-warning @below {{1 of 4 layout rows (head, query block) keep no key their queries can see, though they see some without the layout: those queries give 0}}
  // expected-remark-re @below {{sparse attention: block layout, blocks of 32 from '{{.*}}rows.npy': 6 of 16 blocks kept; pairs per head 8256 -> 3632 (44.0%)}}
  %0 = ds.attention %q, %k, %k {is_causal} : (tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32>
  return %0 : tensor<1x2x128x16xf32>
}

// -----

// An encoder: no diagonal, so row 2 sees key block 3; 100 queries make 4
// blocks (the last of 4 rows): 1024 + 2048 + 1024 + 256 = 4352 pairs of
// 12800. Its mask and scale carry over.
// CHECK-LABEL: func.func @encoder
// CHECK: ds.block_sparse_attention %arg0, %arg1, %arg1, %{{.*}}, %arg2 {block_size = 32 : i64, scale = 5.000000e-01 : f64}
// HEADS-LABEL: func.func @encoder
// HEADS: ds.block_sparse_attention {{.*}} tensor<2x4x4xi1>, tensor<1x1x1x128xi1>) -> tensor<1x2x100x16xf32>
func.func @encoder(%q: tensor<1x2x100x16xf32>, %k: tensor<1x2x128x16xf32>, %m: tensor<1x1x1x128xi1>) -> tensor<1x2x100x16xf32> {
  // expected-remark-re @below {{sparse attention: block layout, blocks of 32 from '{{.*}}rows.npy': 6 of 16 blocks kept; pairs per head 12800 -> 4352 (34.0%)}}
  %0 = ds.attention %q, %k, %k, %m {scale = 0.5 : f64} : (tensor<1x2x100x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x1x1x128xi1>) -> tensor<1x2x100x16xf32>
  return %0 : tensor<1x2x100x16xf32>
}
