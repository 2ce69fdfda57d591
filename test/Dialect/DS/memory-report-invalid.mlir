// RUN: ds-opt %s --split-input-file --ds-memory-report --verify-diagnostics -o /dev/null
// What ds-memory-report cannot plan: dynamic dims (the runtime plans memory
// per input shape; only static values are summed) and a module without @main.

// %1 (ds.shape, 2 x i64 = 16 bytes) is the one intermediate of static size.
// expected-remark @+1 {{memory of @main: planned per input shape at run time (2 of 3 intermediates have dynamic dims); values of static size: intermediates 16 bytes, peak 16 bytes at step 1; 1 alive at the peak}}
func.func @main(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = ds.unary relu %x : (tensor<?x8xf32>) -> tensor<?x8xf32>
  // expected-note @+1 {{alive at the peak: %1, 16 bytes, steps 1..2}}
  %1 = ds.shape %0 {end = 2 : i64, start = 0 : i64} : (tensor<?x8xf32>) -> tensor<2xi64>
  %2 = ds.reshape %0, %1 : (tensor<?x8xf32>, tensor<2xi64>) -> tensor<?x8xf32>
  return %2 : tensor<?x8xf32>
}

// -----

// An input with a dynamic dim is enough: the arena depends on the input shape.
// expected-remark @+1 {{memory of @main: planned per input shape at run time (an input has dynamic dims); values of static size: intermediates 16 bytes, peak 16 bytes at step 0; 1 alive at the peak}}
func.func @main(%x: tensor<?x8xf32>) -> tensor<2xi64> {
  // expected-note @+1 {{alive at the peak: %0, 16 bytes, steps 0..1}}
  %0 = ds.shape %x {end = 2 : i64, start = 0 : i64} : (tensor<?x8xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// expected-error @below {{ds-memory-report: no func.func @main}}
module {
  func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
