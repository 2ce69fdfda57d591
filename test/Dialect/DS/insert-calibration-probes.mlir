// RUN: ds-opt %s --split-input-file --ds-insert-calibration-probes | FileCheck %s

// The activation of each quantizable matmul becomes a named result after the
// model's own; repeated node names get #n; an activation x activation
// product and a matmul of a constant activation are not probed.
// CHECK-LABEL: func @probes
// CHECK-SAME:  (%[[X:.*]]: tensor<4x8xf32>) -> (tensor<4x4xf32> {ds.name = "out"}, tensor<4x8xf32> {ds.name = "ds.calibration:qkv"}, tensor<4x8xf32> {ds.name = "ds.calibration:qkv#1"}, tensor<4x8xf32> {ds.name = "ds.calibration:proj"})
// CHECK:       %[[H:.*]] = ds.unary relu
// CHECK:       return %{{.*}}, %[[X]], %[[X]], %[[H]] :
func.func @probes(%x: tensor<4x8xf32>) -> (tensor<4x4xf32> {ds.name = "out"}) {
  %wq = ds.constant dense<0.5> : tensor<8x8xf32>
  %wk = ds.constant dense<0.25> : tensor<8x8xf32>
  %q = ds.matmul %x, %wq : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("qkv")
  %k = ds.matmul %x, %wk : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("qkv")
  %h = ds.unary relu %q : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %p = ds.matmul %h, %wk : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("proj")
  %kt = ds.transpose %k {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %s = ds.matmul %p, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32> loc("scores")
  %c = ds.constant dense<1.0> : tensor<4x8xf32>
  %d = ds.matmul %c, %wq : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("const")
  return %s : tensor<4x4xf32>
}

// -----

// Nothing to quantize: the function is left as it is.
// CHECK-LABEL: func @nothing
// CHECK-SAME:  -> tensor<2x2xf32>
// CHECK-NEXT:  ds.matmul
func.func @nothing(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %y = ds.matmul %a, %b : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// A convolution's input is probed too, under the convolution's name.
// CHECK-LABEL: func @conv
// CHECK-SAME:  -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> {ds.name = "ds.calibration:conv1"})
func.func @conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = ds.constant dense<0.5> : tensor<2x2x1x1xf32>
  %y = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %y : tensor<1x2x4x4xf32>
}

// -----

// A matmul and a convolution of one node name get different keys (one
// numbering over both kinds).
// CHECK-LABEL: func @same_name
// CHECK-SAME:  {ds.name = "ds.calibration:n#1"}, tensor<1x2x4x4xf32> {ds.name = "ds.calibration:n"})
func.func @same_name(%x: tensor<1x2x4x4xf32>, %m: tensor<4x2xf32>) -> (tensor<1x2x4x4xf32>, tensor<4x2xf32>) {
  %w = ds.constant dense<0.5> : tensor<2x2x1x1xf32>
  %y = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("n")
  %v = ds.constant dense<0.25> : tensor<2x2xf32>
  %z = ds.matmul %m, %v : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32> loc("n")
  return %y, %z : tensor<1x2x4x4xf32>, tensor<4x2xf32>
}
