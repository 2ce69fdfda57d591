// RUN: ds-opt %s --split-input-file --ds-compose-gelu | FileCheck %s
// GELU written out in ops (as exporters below opset 20 write it) becomes one
// ds.unary gelu / gelu_tanh; near misses stay as they are.

// CHECK-LABEL: func @torch_erf_form
// nn.GELU(): x * (1 + erf(x / sqrt 2)) * 0.5, with a bias add before it.
func.func @torch_erf_form(%m: tensor<2x8xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
  %sqrt2 = ds.constant dense<1.41421354> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  %half = ds.constant dense<0.5> : tensor<f32>
  // CHECK: %[[X:.*]] = ds.binary add
  // CHECK-NEXT: %[[G:.*]] = ds.unary gelu %[[X]] : (tensor<2x8xf32>) -> tensor<2x8xf32>
  // CHECK-NEXT: return %[[G]]
  %x = ds.binary add %b, %m : (tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %0 = ds.binary div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = ds.unary erf %0 : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = ds.binary add %1, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = ds.binary mul %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = ds.binary mul %3, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %4 : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func @half_first_erf_form
// x * 0.5 * (1.0 + erf(x * (1 / sqrt 2))), operands in the other orders, f16.
func.func @half_first_erf_form(%x: tensor<4xf16>) -> tensor<4xf16> {
  %r = ds.constant dense<0.707106769> : tensor<f16>
  %one = ds.constant dense<1.0> : tensor<1xf16>
  %half = ds.constant dense<0.5> : tensor<f16>
  // CHECK: %[[G:.*]] = ds.unary gelu %arg0 : (tensor<4xf16>) -> tensor<4xf16>
  // CHECK-NEXT: return %[[G]]
  %h = ds.binary mul %half, %x : (tensor<f16>, tensor<4xf16>) -> tensor<4xf16>
  %0 = ds.binary mul %r, %x : (tensor<f16>, tensor<4xf16>) -> tensor<4xf16>
  %1 = ds.unary erf %0 : (tensor<4xf16>) -> tensor<4xf16>
  %2 = ds.binary add %one, %1 : (tensor<1xf16>, tensor<4xf16>) -> tensor<4xf16>
  %3 = ds.binary mul %2, %h : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  return %3 : tensor<4xf16>
}

// -----

// CHECK-LABEL: func @gpt2_tanh_form
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 pow(x, 3)))), as GPT-2 exports it.
func.func @gpt2_tanh_form(%x: tensor<1x16x256xf32>) -> tensor<1x16x256xf32> {
  %half = ds.constant dense<0.5> : tensor<f32>
  %three = ds.constant dense<3.0> : tensor<f32>
  %c = ds.constant dense<0.0447149985> : tensor<f32>
  %k = ds.constant dense<0.797884583> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  // CHECK: %[[G:.*]] = ds.unary gelu_tanh %arg0 : (tensor<1x16x256xf32>) -> tensor<1x16x256xf32>
  // CHECK-NEXT: return %[[G]]
  %0 = ds.binary mul %x, %half : (tensor<1x16x256xf32>, tensor<f32>) -> tensor<1x16x256xf32>
  %1 = ds.binary pow %x, %three : (tensor<1x16x256xf32>, tensor<f32>) -> tensor<1x16x256xf32>
  %2 = ds.binary mul %1, %c : (tensor<1x16x256xf32>, tensor<f32>) -> tensor<1x16x256xf32>
  %3 = ds.binary add %x, %2 : (tensor<1x16x256xf32>, tensor<1x16x256xf32>) -> tensor<1x16x256xf32>
  %4 = ds.binary mul %3, %k : (tensor<1x16x256xf32>, tensor<f32>) -> tensor<1x16x256xf32>
  %5 = ds.unary tanh %4 : (tensor<1x16x256xf32>) -> tensor<1x16x256xf32>
  %6 = ds.binary add %5, %one : (tensor<1x16x256xf32>, tensor<f32>) -> tensor<1x16x256xf32>
  %7 = ds.binary mul %0, %6 : (tensor<1x16x256xf32>, tensor<1x16x256xf32>) -> tensor<1x16x256xf32>
  return %7 : tensor<1x16x256xf32>
}

// -----

// CHECK-LABEL: func @tanh_form_cube_as_products
// The cube written x * (x * x).
func.func @tanh_form_cube_as_products(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = ds.constant dense<0.5> : tensor<f32>
  %c = ds.constant dense<0.044715> : tensor<f32>
  %k = ds.constant dense<0.797884583> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  // CHECK: ds.unary gelu_tanh %arg0
  // CHECK-NOT: ds.binary
  %sq = ds.binary mul %x, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %cube = ds.binary mul %x, %sq : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %2 = ds.binary mul %c, %cube : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %3 = ds.binary add %2, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = ds.binary mul %k, %3 : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %5 = ds.unary tanh %4 : (tensor<8xf32>) -> tensor<8xf32>
  %6 = ds.binary add %one, %5 : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %7 = ds.binary mul %x, %6 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %8 = ds.binary mul %half, %7 : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  return %8 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func @wrong_constant_kept
// erf(x / 1.5) is not GELU.
func.func @wrong_constant_kept(%x: tensor<8xf32>) -> tensor<8xf32> {
  %s = ds.constant dense<1.5> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  %half = ds.constant dense<0.5> : tensor<f32>
  // CHECK-NOT: gelu
  // CHECK: ds.unary erf
  %0 = ds.binary div %x, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = ds.unary erf %0 : (tensor<8xf32>) -> tensor<8xf32>
  %2 = ds.binary add %1, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = ds.binary mul %x, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = ds.binary mul %3, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %4 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func @other_x_kept
// erf of one value times another is not GELU of either.
func.func @other_x_kept(%x: tensor<8xf32>, %y: tensor<8xf32>) -> tensor<8xf32> {
  %sqrt2 = ds.constant dense<1.41421354> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  %half = ds.constant dense<0.5> : tensor<f32>
  // CHECK-NOT: gelu
  // CHECK: ds.unary erf
  %0 = ds.binary div %y, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = ds.unary erf %0 : (tensor<8xf32>) -> tensor<8xf32>
  %2 = ds.binary add %1, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = ds.binary mul %x, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = ds.binary mul %3, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %4 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func @shared_intermediate_kept
// An intermediate that is also returned stays: composing would compute it twice.
func.func @shared_intermediate_kept(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %sqrt2 = ds.constant dense<1.41421354> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  %half = ds.constant dense<0.5> : tensor<f32>
  // CHECK-NOT: gelu
  // CHECK: ds.unary erf
  // CHECK-NOT: gelu
  // CHECK: return
  %0 = ds.binary div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = ds.unary erf %0 : (tensor<8xf32>) -> tensor<8xf32>
  %2 = ds.binary add %1, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = ds.binary mul %x, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = ds.binary mul %3, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %4, %1 : tensor<8xf32>, tensor<8xf32>
}

// -----

// CHECK-LABEL: func @shared_product_kept
// So does a shared binary intermediate (x * (1 + erf), also returned).
func.func @shared_product_kept(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %sqrt2 = ds.constant dense<1.41421354> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  %half = ds.constant dense<0.5> : tensor<f32>
  // CHECK-NOT: gelu
  // CHECK: return
  %0 = ds.binary div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = ds.unary erf %0 : (tensor<8xf32>) -> tensor<8xf32>
  %2 = ds.binary add %1, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = ds.binary mul %x, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = ds.binary mul %3, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %4, %3 : tensor<8xf32>, tensor<8xf32>
}

// -----

// CHECK-LABEL: func @broadcasting_constant_kept
// A splat constant of 5 elements may broadcast a dynamic x of one element
// to 5: the chain's result is not GELU of x then.
func.func @broadcasting_constant_kept(%x: tensor<?xf32>) -> tensor<?xf32> {
  %sqrt2 = ds.constant dense<1.41421354> : tensor<5xf32>
  %one = ds.constant dense<1.0> : tensor<f32>
  %half = ds.constant dense<0.5> : tensor<f32>
  // CHECK-NOT: gelu
  // CHECK: return
  %0 = ds.binary div %x, %sqrt2 : (tensor<?xf32>, tensor<5xf32>) -> tensor<?xf32>
  %1 = ds.unary erf %0 : (tensor<?xf32>) -> tensor<?xf32>
  %2 = ds.binary add %1, %one : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  %3 = ds.binary mul %x, %2 : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %4 = ds.binary mul %3, %half : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
  return %4 : tensor<?xf32>
}

// -----

// CHECK-LABEL: func @near_three_kept
// pow(x, 3.0000002) is NaN for negative x: only an exponent of exactly 3 is a cube.
func.func @near_three_kept(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = ds.constant dense<0.5> : tensor<f32>
  %three = ds.constant dense<3.00000024> : tensor<f32>
  %c = ds.constant dense<0.044715> : tensor<f32>
  %k = ds.constant dense<0.797884583> : tensor<f32>
  %one = ds.constant dense<1.0> : tensor<f32>
  // CHECK-NOT: gelu
  // CHECK: return
  %0 = ds.binary mul %x, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = ds.binary pow %x, %three : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %2 = ds.binary mul %1, %c : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = ds.binary add %x, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = ds.binary mul %3, %k : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %5 = ds.unary tanh %4 : (tensor<8xf32>) -> tensor<8xf32>
  %6 = ds.binary add %5, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %7 = ds.binary mul %0, %6 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %7 : tensor<8xf32>
}
