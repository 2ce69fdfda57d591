// RUN: not ds-opt %s --ds-optimizer-step -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOGRAD
// RUN: not ds-opt %s --ds-autodiff --ds-optimizer-step="optimizer=lion" -o /dev/null 2>&1 | FileCheck %s --check-prefix=KIND
// What ds-optimizer-step refuses.

// NOGRAD: error: ds-optimizer-step: @main returns no '<parameter>.grad' results (run ds-autodiff first)
// KIND: error: ds-optimizer-step: optimizer must be sgd or adamw, not 'lion'
func.func @main(%x: tensor<4x8xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<0.1> : tensor<8x3xf32> loc("w")
  %y = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %s = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x3xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
