// RUN: ds-opt %s --split-input-file --ds-autodiff | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-autodiff=fused-attention-grad=false | FileCheck %s --check-prefix=COMPOSED
// ds-autodiff{fused-attention-grad}: ds.attention's backward is one
// ds.attention_grad with the forward's attributes, its result and the
// result's gradient; without the option it is composed of ds ops.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x4x16x8xf32>
// CHECK: %[[K:.*]] = ds.matmul
// CHECK: %[[V:.*]] = ds.matmul
// CHECK: %[[O:.*]] = ds.attention %[[Q]], %[[K]], %[[V]] {causal_offset = 2 : i64, is_causal, sink_tokens = 1 : i64, softcap = 3.000000e+01 : f64, window = 4 : i64}
// CHECK: %{{.*}}, %{{.*}}, %{{.*}} = ds.attention_grad %[[Q]], %[[K]], %[[V]], %[[O]], %{{.*}} {causal_offset = 2 : i64, is_causal, sink_tokens = 1 : i64, softcap = 3.000000e+01 : f64, window = 4 : i64}
// CHECK-SAME: -> (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
// CHECK-NOT: ds.softmax
// CHECK: return
// COMPOSED-LABEL: func.func @main(
// COMPOSED-NOT: ds.attention_grad
// COMPOSED: ds.softmax
// COMPOSED-NOT: ds.attention_grad
func.func @main(%q: tensor<1x4x16x8xf32> {ds.name = "q"}, %x: tensor<1x2x16x8xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %wk = ds.constant dense<0.25> : tensor<8x8xf32> loc("wk")
  %wv = ds.constant dense<0.5> : tensor<8x8xf32> loc("wv")
  %k = ds.matmul %x, %wk : (tensor<1x2x16x8xf32>, tensor<8x8xf32>) -> tensor<1x2x16x8xf32>
  %v = ds.matmul %x, %wv : (tensor<1x2x16x8xf32>, tensor<8x8xf32>) -> tensor<1x2x16x8xf32>
  %0 = ds.attention %q, %k, %v {is_causal, causal_offset = 2 : i64, window = 4 : i64, sink_tokens = 1 : i64, softcap = 30.0 : f64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x4x16x8xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// A mask passes through as the op's last operand.
// CHECK-LABEL: func.func @main(
// CHECK: %[[M:.*]] = ds.constant {{.*}} : tensor<1x1x8x8xi1>
// CHECK: ds.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[M]] {scale = 5.000000e-01 : f64}
// COMPOSED-LABEL: func.func @main(
func.func @main(%q: tensor<1x1x8x4xf32> {ds.name = "q"}) -> (tensor<f32> {ds.name = "loss"}) {
  %k = ds.constant dense<0.25> : tensor<1x1x8x4xf32> loc("k")
  %v = ds.constant dense<0.5> : tensor<1x1x8x4xf32> loc("v")
  %m = ds.constant dense<true> : tensor<1x1x8x8xi1>
  %0 = ds.attention %q, %k, %v, %m {scale = 0.5 : f64} : (tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x8xi1>) -> tensor<1x1x8x4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x1x8x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// A float mask that is itself a parameter wants its own gradient: the
// composed backward gives it.
// CHECK-LABEL: func.func @main(
// CHECK-NOT: ds.attention_grad
// CHECK: ds.softmax
// CHECK: return
// COMPOSED-LABEL: func.func @main(
func.func @main(%q: tensor<1x1x8x4xf32> {ds.name = "q"}) -> (tensor<f32> {ds.name = "loss"}) {
  %k = ds.constant dense<0.25> : tensor<1x1x8x4xf32> loc("k")
  %v = ds.constant dense<0.5> : tensor<1x1x8x4xf32> loc("v")
  %bias = ds.constant dense<0.125> : tensor<1x1x8x8xf32> loc("bias")
  %0 = ds.attention %q, %k, %v, %bias : (tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x8xf32>) -> tensor<1x1x8x4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x1x8x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// ds.sparse_attention's backward is one ds.sparse_attention_grad over the
// same lists.
// CHECK-LABEL: func.func @main(
// CHECK: %[[O:.*]] = ds.sparse_attention %[[Q:.*]], %[[K:.*]], %[[V:.*]], %[[I:.*]] {causal_offset = 3 : i64, is_causal}
// CHECK: ds.sparse_attention_grad %[[Q]], %[[K]], %[[V]], %[[I]], %[[O]], %{{.*}} {causal_offset = 3 : i64, is_causal}
// CHECK-NOT: ds.scatter_elements
// COMPOSED-LABEL: func.func @main(
// COMPOSED-NOT: ds.sparse_attention_grad
// COMPOSED: ds.scatter_elements
func.func @main(%q: tensor<1x2x4x8xf32> {ds.name = "q"}, %idx: tensor<1x1x4x3xi64> {ds.name = "idx"}) -> (tensor<f32> {ds.name = "loss"}) {
  %k = ds.constant dense<0.25> : tensor<1x2x16x8xf32> loc("k")
  %v = ds.constant dense<0.5> : tensor<1x2x16x8xf32> loc("v")
  %0 = ds.sparse_attention %q, %k, %v, %idx {is_causal, causal_offset = 3 : i64} : (tensor<1x2x4x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x1x4x3xi64>) -> tensor<1x2x4x8xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x2x4x8xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// ds.block_sparse_attention's backward is one ds.block_sparse_attention_grad
// over the same layout and mask.
// CHECK-LABEL: func.func @main(
// CHECK: %[[L:.*]] = ds.constant {{.*}} : tensor<1x2x2xi1>
// CHECK: %[[O:.*]] = ds.block_sparse_attention %[[Q:.*]], %[[K:.*]], %[[V:.*]], %[[L]], %[[M:.*]] {block_size = 4 : i64, is_causal}
// CHECK: ds.block_sparse_attention_grad %[[Q]], %[[K]], %[[V]], %[[L]], %[[O]], %{{.*}}, %[[M]] {block_size = 4 : i64, is_causal}
// CHECK-NOT: ds.softmax
// COMPOSED-LABEL: func.func @main(
// COMPOSED-NOT: ds.block_sparse_attention_grad
// COMPOSED: ds.softmax
func.func @main(%q: tensor<1x2x8x4xf32> {ds.name = "q"}, %m: tensor<8x8xi1> {ds.name = "m"}) -> (tensor<f32> {ds.name = "loss"}) {
  %k = ds.constant dense<0.25> : tensor<1x1x8x4xf32> loc("k")
  %v = ds.constant dense<0.5> : tensor<1x1x8x4xf32> loc("v")
  %l = ds.constant dense<[[[true, false], [true, true]]]> : tensor<1x2x2xi1>
  %0 = ds.block_sparse_attention %q, %k, %v, %l, %m {block_size = 4 : i64, is_causal} : (tensor<1x2x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x2x2xi1>, tensor<8x8xi1>) -> tensor<1x2x8x4xf32>
  %1 = ds.reduce sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x2x8x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
