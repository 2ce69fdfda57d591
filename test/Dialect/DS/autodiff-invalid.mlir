// RUN: ds-opt %s --split-input-file --ds-autodiff --verify-diagnostics -o /dev/null
// RUN: not ds-opt %s --split-input-file --ds-autodiff="loss=total" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: not ds-opt %s --split-input-file --ds-autodiff="parameters=w,nope" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PARAM
// RUN: not ds-opt %s --split-input-file --ds-autodiff="loss-function=hinge" -o /dev/null 2>&1 | FileCheck %s --check-prefix=KIND
// What ds-autodiff refuses, and how it says so.

// NAME: error: ds-autodiff: @main has no output named 'total'
// PARAM: error: ds-autodiff: no float constant named 'nope'
// PARAM: note: named constants: w
// KIND: error: ds-autodiff: loss-function must be mse or cross-entropy, not 'hinge'
// RUN: not ds-opt %s --split-input-file --ds-autodiff="parameters=s lsq-grad-scale=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=LSQ
// LSQ: error: ds-autodiff: lsq-grad-scale needs a range whose largest integer is positive

// Two one-element outputs: which is the loss?
// expected-error @+1 {{ds-autodiff: name the loss: @main has 2 one-element float outputs}}
func.func @main(%x: tensor<4xf32>) -> (tensor<f32>, tensor<f32>) {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %0 = ds.binary mul %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  %2 = ds.reduce mean %0 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %1, %2 : tensor<f32>, tensor<f32>
}

// -----

// A product has no gradient rule yet: the op is named.
func.func @main(%x: tensor<4xf32>) -> tensor<f32> {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %0 = ds.binary mul %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // expected-error @+1 {{ds-autodiff: no gradient for ds.reduce prod (this op lies between a parameter and the loss)}}
  %1 = ds.reduce prod %0 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// The loss must depend on a parameter.
// expected-error @+1 {{ds-autodiff: the loss does not depend on any parameter}}
func.func @main(%x: tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>) {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %0 = ds.binary mul %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.reduce sum %x {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %1, %0 : tensor<f32>, tensor<4xf32>
}

// -----

// Dynamic dims on the way to the loss.
func.func @main(%x: tensor<?x4xf32>) -> tensor<f32> {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %0 = ds.binary mul %x, %w : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // expected-error @+1 {{ds-autodiff: dynamic dims on the path to the loss (bind them with --ds-input-shape)}}
  %1 = ds.reduce sum %0 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<?x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Reflect padding has no gradient rule (constant padding has).
func.func @main(%x: tensor<1x4xf32>) -> tensor<f32> {
  %w = ds.constant dense<0.5> : tensor<1x4xf32> loc("w")
  %p = ds.constant dense<[0, 1, 0, 1]> : tensor<4xi64>
  %0 = ds.binary mul %x, %w : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  // expected-error @+1 {{ds-autodiff: no gradient for a ds.pad in reflect mode (this op lies between a parameter and the loss)}}
  %1 = ds.pad %0, %p {mode = 1 : i32} : (tensor<1x4xf32>, tensor<4xi64>) -> tensor<1x6xf32>
  %2 = ds.reduce sum %1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<1x6xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// Fake quantization whose two halves disagree on the scale.
func.func @main(%x: tensor<4xf32>) -> tensor<f32> {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %s = ds.constant dense<0.1> : tensor<f32>
  %t = ds.constant dense<0.2> : tensor<f32>
  %q = ds.quantize %w, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  // expected-error @+1 {{ds-autodiff: no gradient for a quantize / dequantize pair with different scales or zero points}}
  %dq = ds.dequantize %q, %t {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %0 = ds.binary mul %x, %dq : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// A learned scale (LSQ) is for integer fake quantization; float8 rounds to
// values no step size describes.
func.func @main(%x: tensor<4xf32>, %s: tensor<f32> {ds.name = "s", ds.parameter, ds.default = dense<0.1> : tensor<f32>}) -> tensor<f32> {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %q = ds.quantize %w, %s {axis = 1 : i64, block_size = 0 : i64, saturate} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf8E4M3FN>
  // expected-error @+1 {{ds-autodiff: no gradient for the scale of a fake quantization to float8 (learned scales are for integer types)}}
  %dq = ds.dequantize %q, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf8E4M3FN>, tensor<f32>) -> tensor<4xf32>
  %0 = ds.binary mul %x, %dq : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// An integer op other than a clamp between quantize and dequantize.
func.func @main(%x: tensor<4xf32>) -> tensor<f32> {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %s = ds.constant dense<0.1> : tensor<f32>
  %one = ds.constant dense<1> : tensor<i8>
  %q = ds.quantize %w, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  %a = ds.binary add %q, %one : (tensor<4xi8>, tensor<i8>) -> tensor<4xi8>
  // expected-error @+1 {{ds-autodiff: no gradient through the integers between ds.quantize and ds.dequantize (only clamps by constants pass)}}
  %dq = ds.dequantize %a, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %0 = ds.binary mul %x, %dq : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Quantized values read by anything but a dequantize.
func.func @main(%x: tensor<4xf32>) -> tensor<f32> {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %s = ds.constant dense<0.1> : tensor<f32>
  %q = ds.quantize %w, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  // expected-error @+1 {{ds-autodiff: no gradient through quantized values (this op reads the result of a ds.quantize a parameter flows into)}}
  %c = ds.cast %q : tensor<4xi8> to tensor<4xf32>
  %0 = ds.binary mul %x, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Block selection picks keys by q and k themselves: no gradient rule.
func.func @main(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>) -> tensor<f32> {
  %v = ds.constant dense<0.5> : tensor<1x1x8x4xf32> loc("v")
  // expected-error @+1 {{ds-autodiff: no gradient for a ds.attention with block selection (the selection depends on q and k) (this op lies between a parameter and the loss)}}
  %0 = ds.attention %q, %k, %v {is_causal, select_blocks = 1 : i64, block_size = 2 : i64} : (tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>) -> tensor<1x1x8x4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x1x8x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// LSQ's gradient scale divides by the range's largest integer: a uint8
// value clamped to [0, 0] has none (the RUN line with lsq-grad-scale; here,
// without parameters named, a one-element scale is not one).
// expected-error @+1 {{ds-autodiff: the model has no float constants to differentiate}}
func.func @main(%x: tensor<4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %s = ds.constant dense<0.05> : tensor<1xf32> loc("s")
  %zp = ds.constant dense<0> : tensor<1xui8>
  %zero = ds.constant dense<0> : tensor<ui8>
  %q = ds.quantize %x, %s, %zp {axis = 1 : i64, block_size = 0 : i64, saturate} : (tensor<4xf32>, tensor<1xf32>, tensor<1xui8>) -> tensor<4xui8>
  %c = ds.binary min %q, %zero : (tensor<4xui8>, tensor<ui8>) -> tensor<4xui8>
  %dq = ds.dequantize %c, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : (tensor<4xui8>, tensor<1xf32>, tensor<1xui8>) -> tensor<4xf32>
  %l = ds.reduce sum %dq {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
