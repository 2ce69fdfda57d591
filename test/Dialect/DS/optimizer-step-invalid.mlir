// RUN: not ds-opt %s --split-input-file --ds-optimizer-step -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOGRAD
// RUN: not ds-opt %s --split-input-file --ds-autodiff --ds-optimizer-step="optimizer=lion" -o /dev/null 2>&1 | FileCheck %s --check-prefix=KIND
// What ds-optimizer-step refuses.

// NOGRAD: error: ds-optimizer-step: @main returns no '<parameter>.grad' results (run ds-autodiff first)
// KIND: error: ds-optimizer-step: optimizer must be sgd or adamw, not 'lion'
func.func @main(%x: tensor<4x8xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<0.1> : tensor<8x3xf32> loc("w")
  %y = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %s = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x3xf32>) -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// RUN: not ds-opt %s --split-input-file --ds-autodiff --ds-optimizer-step -o /dev/null 2>&1 | FileCheck %s --check-prefix=F16
// F16: error: ds-optimizer-step: parameter 'h' is 'f16'; the optimizer updates f32 parameters
func.func @main(%x: tensor<4x8xf16>) -> (tensor<f16> {ds.name = "loss"}) {
  %w = ds.constant dense<0.1> : tensor<8x3xf16> loc("h")
  %y = ds.matmul %x, %w : (tensor<4x8xf16>, tensor<8x3xf16>) -> tensor<4x3xf16>
  %s = ds.reduce sum %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x3xf16>) -> tensor<f16>
  return %s : tensor<f16>
}
