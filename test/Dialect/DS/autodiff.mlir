// RUN: ds-opt %s --split-input-file --ds-autodiff --canonicalize --cse | FileCheck %s
// ds-autodiff: @main becomes the loss and the gradient of each parameter;
// parameters become inputs that default to their values.

// A two-layer MLP with a mean squared error written in the model.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4x8xf32> {ds.name = "x"}, %[[T:[a-z0-9]+]]: tensor<4x3xf32> {ds.name = "target"},
// CHECK-SAME: %[[W1:[a-z0-9]+]]: tensor<8x16xf32> {ds.default = dense<1.000000e-01> : tensor<8x16xf32>, ds.name = "w1", ds.parameter},
// CHECK-SAME: %[[B1:[a-z0-9]+]]: tensor<16xf32> {ds.default = {{.*}}, ds.name = "b1", ds.parameter},
// CHECK-SAME: %[[W2:[a-z0-9]+]]: tensor<16x3xf32> {ds.default = {{.*}}, ds.name = "w2", ds.parameter})
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8x16xf32> {ds.name = "w1.grad"}, tensor<16xf32> {ds.name = "b1.grad"}, tensor<16x3xf32> {ds.name = "w2.grad"})
// CHECK: %[[H:.*]] = ds.matmul %[[X]], %[[W1]]
// CHECK: %[[A:.*]] = ds.unary tanh
// CHECK: %[[D:.*]] = ds.binary sub
// CHECK: %[[L:.*]] = ds.reduce mean
// d(mean(d²))/dd = 2 d / 12, broadcast from the scalar seed.
// CHECK: %[[DD:.*]] = ds.binary add
// dW2 = aᵀ dy, dA = dy W2ᵀ
// CHECK-DAG: %[[W2T:.*]] = ds.transpose %[[W2]] {perm = array<i64: 1, 0>}
// CHECK-DAG: %[[AT:.*]] = ds.transpose %[[A]] {perm = array<i64: 1, 0>}
// CHECK-DAG: %[[DW2:.*]] = ds.matmul %[[AT]], %[[DD]]
// tanh' = 1 - a²
// CHECK: %[[A2:.*]] = ds.binary mul %[[A]], %[[A]]
// CHECK: %[[DH:.*]] = ds.binary mul %{{.*}}, %{{.*}}
// The bias was broadcast over the rows: its gradient sums them.
// CHECK: %[[DB1:.*]] = ds.reduce sum %[[DH]] {axes = array<i64: 0>, keepdims = false}
// CHECK: %[[XT:.*]] = ds.transpose %[[X]]
// CHECK: %[[DW1:.*]] = ds.matmul %[[XT]], %[[DH]]
// CHECK: return %[[L]], %[[DW1]], %[[DB1]], %[[DW2]]
func.func @main(%x: tensor<4x8xf32> {ds.name = "x"}, %t: tensor<4x3xf32> {ds.name = "target"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w1 = ds.constant dense<0.1> : tensor<8x16xf32> loc("w1")
  %b1 = ds.constant dense<0.01> : tensor<16xf32> loc("b1")
  %w2 = ds.constant dense<-0.2> : tensor<16x3xf32> loc("w2")
  %h = ds.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %hb = ds.binary add %h, %b1 : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %a = ds.unary tanh %hb : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = ds.matmul %a, %w2 : (tensor<4x16xf32>, tensor<16x3xf32>) -> tensor<4x3xf32>
  %d = ds.binary sub %y, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %sq = ds.binary mul %d, %d : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %l = ds.reduce mean %sq {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Layer normalization and softmax: their inputs' gradients need the row
// statistics again (recomputed from x), the scale's and bias's sum the rows.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: ds.name = "gamma"
// CHECK-SAME: ds.name = "beta"
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8xf32> {ds.name = "gamma.grad"}, tensor<8xf32> {ds.name = "beta.grad"})
// CHECK: ds.norm mean_var
// CHECK: %[[S:.*]] = ds.softmax
// softmax': y (dy - Σ dy y) over the softmax axis
// CHECK: ds.reduce sum %{{.*}} {axes = array<i64: 1>, keepdims = true}
// CHECK: ds.unary sqrt
// CHECK: %[[INV:.*]] = ds.unary reciprocal
// CHECK: %[[XHAT:.*]] = ds.binary mul %{{.*}}, %[[INV]]
// CHECK: %[[DYXHAT:.*]] = ds.binary mul %[[DY:[0-9]+]], %[[XHAT]]
// CHECK: %[[DGAMMA:.*]] = ds.reduce sum %[[DYXHAT]] {axes = array<i64: 0>, keepdims = false}
// CHECK: %[[DBETA:.*]] = ds.reduce sum %[[DY]] {axes = array<i64: 0>, keepdims = false}
// CHECK: return %{{.*}}, %[[DGAMMA]], %[[DBETA]]
func.func @main(%x: tensor<4x8xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %g = ds.constant dense<1.0> : tensor<8xf32> loc("gamma")
  %b = ds.constant dense<0.0> : tensor<8xf32> loc("beta")
  %n = ds.norm mean_var %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f64, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %s = ds.softmax %n {axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %w = ds.binary mul %s, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %l = ds.reduce sum %w {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Rotary embeddings: the position caches are not parameters (nothing is
// learned through them); the input's gradient rotates back, by the same op
// with the sines negated.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: ds.name = "w"
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<1x2x4x8xf32> {ds.name = "w.grad"})
// CHECK-DAG: %[[COS:.*]] = ds.constant dense<5.000000e-01> : tensor<8x4xf32>
// CHECK-DAG: %[[NEGSIN:.*]] = ds.constant dense<-2.500000e-01> : tensor<8x4xf32>
// CHECK: ds.rotary_embedding %{{.*}}, %[[COS]], %[[NEGSIN]], %arg0
func.func @main(%pos: tensor<1x4xi64>) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<1.5> : tensor<1x2x4x8xf32> loc("w")
  %c = ds.constant dense<0.5> : tensor<8x4xf32> loc("cos_cache")
  %s = ds.constant dense<0.25> : tensor<8x4xf32> loc("sin_cache")
  %r = ds.rotary_embedding %w, %c, %s, %pos {num_heads = 0 : i64, rotary_embedding_dim = 0 : i64} : (tensor<1x2x4x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x4xi64>) -> tensor<1x2x4x8xf32>
  %sq = ds.binary mul %r, %r : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %l = ds.reduce sum %sq {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x2x4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// x ** 2 as exporters write it, with an integer exponent: the derivative's
// exponent is cast to the base's type.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<4xf32> {ds.name = "w.grad"})
// CHECK: ds.binary pow %{{.*}}, %{{.*}} : (tensor<4xf32>, tensor<i64>)
// (the cast and e - 1 fold to an f32 constant)
// CHECK: ds.binary pow %{{.*}}, %{{.*}} : (tensor<4xf32>, tensor<f32>)
func.func @main(%x: tensor<4xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<0.5> : tensor<4xf32> loc("w")
  %two = ds.constant dense<2> : tensor<i64>
  %y = ds.binary mul %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %p = ds.binary pow %y, %two : (tensor<4xf32>, tensor<i64>) -> tensor<4xf32>
  %l = ds.reduce sum %p {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Concat: each input's gradient is its slice of the output's.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<2x3xf32> {ds.name = "a.grad"}, tensor<2x5xf32> {ds.name = "b.grad"})
// CHECK-DAG: %[[ZERO:.*]] = ds.constant dense<0> : tensor<1xi64>
// CHECK-DAG: %[[THREE:.*]] = ds.constant dense<3> : tensor<1xi64>
// CHECK-DAG: %[[EIGHT:.*]] = ds.constant dense<8> : tensor<1xi64>
// CHECK: ds.slice %[[DY:.*]], %[[ZERO]], %[[THREE]]
// CHECK: ds.slice %[[DY]], %[[THREE]], %[[EIGHT]]
func.func @main(%x: tensor<2x8xf32>) -> (tensor<f32> {ds.name = "loss"}) {
  %a = ds.constant dense<0.5> : tensor<2x3xf32> loc("a")
  %b = ds.constant dense<0.25> : tensor<2x5xf32> loc("b")
  %c = ds.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  %m = ds.binary mul %c, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %l = ds.reduce sum %m {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A weight shared by a batch ([2, 5, 8] x [8, 3]): its gradient is one GEMM
// over the batch's 10 rows, not a batched GEMM and a sum over the batch.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<2x5x8xf32>
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<8x3xf32> {ds.name = "w.grad"})
// CHECK-DAG: %[[XF:.*]] = ds.reshape %[[X]], %{{.*}} : (tensor<2x5x8xf32>, tensor<2xi64>) -> tensor<10x8xf32>
// CHECK-DAG: %[[DYF:.*]] = ds.reshape %{{.*}}, %{{.*}} : (tensor<2x5x3xf32>, tensor<2xi64>) -> tensor<10x3xf32>
// CHECK: %[[XT:.*]] = ds.transpose %[[XF]] {perm = array<i64: 1, 0>} : (tensor<10x8xf32>) -> tensor<8x10xf32>
// CHECK: %[[DW:.*]] = ds.matmul %[[XT]], %[[DYF]] : (tensor<8x10xf32>, tensor<10x3xf32>) -> tensor<8x3xf32>
// CHECK-NOT: ds.reduce sum
// CHECK: return %{{.*}}, %[[DW]]
func.func @main(%x: tensor<2x5x8xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<0.1> : tensor<8x3xf32> loc("w")
  %y = ds.matmul %x, %w : (tensor<2x5x8xf32>, tensor<8x3xf32>) -> tensor<2x5x3xf32>
  %sq = ds.binary mul %y, %y : (tensor<2x5x3xf32>, tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  %l = ds.reduce sum %sq {axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x5x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
