// RUN: ds-opt %s --split-input-file --ds-autodiff --canonicalize --cse | FileCheck %s
// ds-autodiff's rules for sliding windows (WindowGradients.cpp): grouped
// convolutions and pooling scatter back through ds.conv_transpose.

// A grouped convolution: dX is the transposed convolution with the same
// groups; dW a grouped correlation of X regrouped to [Cin/g, g*N, ...].
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<f32> {ds.name = "loss"}, tensor<2x4x6x6xf32> {ds.name = "p.grad"}, tensor<6x2x3x3xf32> {ds.name = "w.grad"})
// CHECK-DAG: ds.conv_transpose %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x6x3x3xf32>, tensor<6x2x3x3xf32>) -> tensor<2x4x6x6xf32>
// CHECK-DAG: %[[SPLIT:.*]] = ds.reshape %{{.*}} : (tensor<2x4x6x6xf32>, tensor<5xi64>) -> tensor<2x2x2x6x6xf32>
// CHECK-DAG: %[[REGROUPED:.*]] = ds.transpose %[[SPLIT]] {perm = array<i64: 2, 1, 0, 3, 4>}
// CHECK-DAG: ds.conv %{{.*}}, %{{.*}} {dilations = array<i64: 2, 2>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x4x6x6xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x4x4xf32>
func.func @main(%x: tensor<2x4x6x6xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %p = ds.constant dense<1.0> : tensor<2x4x6x6xf32> loc("p")
  %a = ds.binary mul %x, %p : (tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
  %w = ds.constant dense<0.5> : tensor<6x2x3x3xf32> loc("w")
  %y = ds.conv %a, %w {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x6x6xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x3x3xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<2x6x3x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Average pooling: dY over each window's count, spread with a depthwise
// transposed convolution of ones.
// CHECK-LABEL: func.func @main(
// CHECK: %[[SCALED:.*]] = ds.binary mul %{{.*}}, %{{.*}} : (tensor<1x2x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32>
// CHECK: ds.conv_transpose %[[SCALED]], %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x2x2xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x4x4xf32>
func.func @main(%x: tensor<1x2x4x4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %p = ds.constant dense<1.0> : tensor<1x2x4x4xf32> loc("p")
  %a = ds.binary mul %x, %p : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %y = ds.pool avg %a {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x2x2x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Max pooling: per tap, "holds the maximum and no earlier tap did" selects
// dY; the taps stacked as channels scatter back through one-hot weights.
// CHECK-LABEL: func.func @main(
// CHECK-NOT: ds.pad
// CHECK-COUNT-4: ds.compare eq
// CHECK: ds.concat {{.*}} {axis = 2 : i64} : (tensor<1x2x1x2x2xf32>, tensor<1x2x1x2x2xf32>, tensor<1x2x1x2x2xf32>, tensor<1x2x1x2x2xf32>) -> tensor<1x2x4x2x2xf32>
// CHECK: ds.conv_transpose %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x2x2xf32>, tensor<8x1x2x2xf32>) -> tensor<1x2x4x4xf32>
func.func @main(%x: tensor<1x2x4x4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %p = ds.constant dense<1.0> : tensor<1x2x4x4xf32> loc("p")
  %a = ds.binary mul %x, %p : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %y = ds.pool max %a {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x2x2x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Constant padding's gradient crops with the opposite pads (a crop, negative
// pads, pads the gradient back with zeros).
// CHECK-LABEL: func.func @main(
// CHECK: %[[UNDO:.*]] = ds.constant dense<[0, -1, 0, 2]> : tensor<4xi64>
// CHECK: ds.pad %{{.*}}, %[[UNDO]], %{{.*}} {mode = 0 : i32} : (tensor<2x3xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x4xf32>
func.func @main(%x: tensor<2x3xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<0.5> : tensor<2x4xf32> loc("w")
  %p = ds.constant dense<[0, 1, 0, -2]> : tensor<4xi64>
  %z = ds.constant dense<0.0> : tensor<f32>
  %0 = ds.pad %w, %p, %z {mode = 0 : i32} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<2x3xf32>
  %1 = ds.binary mul %0, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = ds.reduce sum %1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// Lp pooling: dy · y^(1-p) summed back over the windows (a transposed
// convolution with ones), times x for p = 2.
// CHECK-LABEL: func.func @main(
// CHECK: %[[Y:.*]] = ds.pool lp %[[X:[^ ]*]]
// CHECK: ds.compare gt %[[Y]]
// CHECK: ds.binary pow
// CHECK: %[[SUM:.*]] = ds.conv_transpose
// CHECK: ds.binary mul %[[SUM]], %[[X]]
func.func @main(%c: tensor<1x2x2x2xf32> {ds.name = "c"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<0.5> : tensor<1x2x4x4xf32> loc("w")
  %0 = ds.pool lp %w {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, p = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %1 = ds.binary mul %0, %c : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %2 = ds.reduce sum %1 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x2x2x2xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
