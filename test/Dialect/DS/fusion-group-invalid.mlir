// RUN: ds-opt %s --split-input-file --verify-diagnostics
// Verifier errors of ds.fusion_group and ds.yield.

func.func @arg_count(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body has 2 arguments for 1 inputs}}
  %0 = ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
    %1 = ds.unary neg %a : (tensor<4xf32>) -> tensor<4xf32>
    ds.yield %1 : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @arg_type(%x: tensor<4xf32>) -> tensor<4xf16> {
  // expected-error @+1 {{body argument #0 has type 'tensor<4xf16>' but input #0 is 'tensor<4xf32>'}}
  %0 = ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> tensor<4xf16> {
  ^bb0(%a: tensor<4xf16>):
    %1 = ds.unary neg %a : (tensor<4xf16>) -> tensor<4xf16>
    ds.yield %1 : tensor<4xf16>
  }
  return %0 : tensor<4xf16>
}

// -----

func.func @yield_type(%x: tensor<4xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{yields 1 value(s) of types 'tensor<4xf32>' but has result types 'tensor<8xf32>'}}
  %0 = ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> tensor<8xf32> {
  ^bb0(%a: tensor<4xf32>):
    %1 = ds.unary neg %a : (tensor<4xf32>) -> tensor<4xf32>
    ds.yield %1 : tensor<4xf32>
  }
  return %0 : tensor<8xf32>
}

// -----

func.func @yield_count(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{yields 2 value(s)}}
  %0 = ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    ds.yield %a, %a : tensor<4xf32>, tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @no_results(%x: tensor<4xf32>) {
  // expected-error @+1 {{must produce at least one result}}
  ds.fusion_group elementwise (%x) : (tensor<4xf32>) -> () {
  ^bb0(%a: tensor<4xf32>):
    ds.yield
  }
  return
}

// -----

func.func @isolated(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = ds.fusion_group elementwise () : () -> tensor<4xf32> {
    // expected-error @+1 {{using value defined outside the region}}
    %1 = ds.unary neg %x : (tensor<4xf32>) -> tensor<4xf32>
    ds.yield %1 : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @yield_outside(%x: tensor<4xf32>) {
  // expected-error @+1 {{expects parent op 'ds.fusion_group'}}
  ds.yield %x : tensor<4xf32>
}
