// RUN: ds-opt %s --split-input-file --ds-fuse="explain=true" --verify-diagnostics -o /dev/null
// ds-fuse{explain=true} reports every fusion decision as a remark at the op:
// which group it joined or started and why, and why it did not join the group
// of a producer. The same lines go to `--debug-only=ds-fuse`, but Debian's LLVM
// 19 is a release build without that flag, so the remarks are what is tested.

func.func @epilogue_and_cycle(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<8x8xf32> {
  // expected-remark @+1 {{started group #0 (contraction)}}
  %0 = ds.matmul %x, %w : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  // expected-remark @+1 {{joined group #0 (contraction): epilogue of ds.matmul}}
  %1 = ds.binary add %0, %b : (tensor<8x8xf32>, tensor<8xf32>) -> tensor<8x8xf32>
  // expected-remark @+1 {{started single-op group #1 (data_movement): ds.transpose does not fuse}}
  %2 = ds.transpose %1 {perm = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  // expected-remark @+3 {{not fused into group #0: a value of the group is already used by ds.transpose at loc(}}
  // expected-remark @+2 {{not fused into group #1: its data_movement group takes no other ops}}
  // expected-remark @+1 {{started group #2 (elementwise)}}
  %3 = ds.binary add %1, %2 : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  return %3 : tensor<8x8xf32>
}

// -----

func.func @reduction(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // expected-remark @+1 {{started group #0 (elementwise)}}
  %0 = ds.binary mul %x, %x : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  // expected-remark @+1 {{joined group #0 (reduction): reduction fused with its elementwise producers}}
  %1 = ds.reduce mean %0 {axes = array<i64: 1>, keepdims = true} : (tensor<4x64xf32>) -> tensor<4x1xf32>
  // expected-remark @+1 {{joined group #0 (reduction): consumer of ds.reduce mean with its output shape}}
  %2 = ds.unary sqrt %1 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  // expected-remark @+2 {{not fused into group #0: its result shape 4x64 differs from the group's 4x1}}
  // expected-remark @+1 {{started group #1 (elementwise)}}
  %3 = ds.binary div %x, %2 : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %3 : tensor<4x64xf32>
}

// -----

func.func @anchors(%x: tensor<2x16xf32>, %y: tensor<16x16xf32>) -> tensor<2x16xf32> {
  // expected-remark @+1 {{started group #0 (contraction)}}
  %0 = ds.matmul %x, %y : (tensor<2x16xf32>, tensor<16x16xf32>) -> tensor<2x16xf32>
  // expected-remark @+2 {{not fused into group #0: the group already has the anchor ds.matmul}}
  // expected-remark @+1 {{started group #1 (reduction)}}
  %1 = ds.softmax %0 {axis = -1 : i64} : (tensor<2x16xf32>) -> tensor<2x16xf32>
  return %1 : tensor<2x16xf32>
}

// -----

func.func @siblings(%x: tensor<4xf32>, %y: tensor<4xf32>, %z: tensor<1x1x4x4xf32>) -> (tensor<4xf32>, tensor<1x1x4x4xf32>) {
  // expected-remark @+1 {{started group #0 (elementwise)}}
  %0 = ds.unary exp %x : (tensor<4xf32>) -> tensor<4xf32>
  // expected-remark @+1 {{started group #1 (elementwise)}}
  %1 = ds.unary exp %y : (tensor<4xf32>) -> tensor<4xf32>
  // expected-remark @+2 {{joined group #0 (elementwise): chain of shape 4}}
  // expected-remark @+1 {{merged group #1 into group #0: sibling elementwise chains of shape 4}}
  %2 = ds.binary add %0, %1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // expected-remark @+1 {{started single-op group #2 (attention): one ds.attention per kernel}}
  %3 = ds.attention %z, %z, %z : (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  // expected-remark @+2 {{not fused into group #2: its attention group takes no other ops}}
  // expected-remark @+1 {{started group #3 (elementwise)}}
  %4 = ds.unary neg %3 : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return %2, %4 : tensor<4xf32>, tensor<1x1x4x4xf32>
}
