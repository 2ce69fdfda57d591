// RUN: ds-opt %s --ds-cuda-wrap-ops --ds-emit-cuda -split-input-file -verify-diagnostics
// Sizes the CUDA backend cannot take at launch are errors naming the op, also
// in a program whose inputs are all static (the ds-compile of such a program
// once crashed: nothing was checked when no input had a dynamic dim).

func.func @main(%n: tensor<i64>) -> tensor<?xf32> {
  %start = ds.constant dense<0> : tensor<i64>
  %step = ds.constant dense<1> : tensor<i64>
  // expected-error @+1 {{cuda: dim 0 of 'tensor<?xi64>' is not a sum of input dims (it depends on a value only a run knows)}}
  %r = ds.range %start, %n, %step : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %f = ds.cast %r : tensor<?xi64> to tensor<?xf32>
  return %f : tensor<?xf32>
}

// -----

// A product of two sizes is no sum of them.
func.func @main(%x: tensor<?x?xf32> {ds.dim_symbols = ["a", "b"]}) -> tensor<?xf32> {
  %shape = ds.constant dense<-1> : tensor<1xi64>
  // expected-error @+1 {{cuda: dim 0 of 'tensor<?xf32>' is not a sum of input dims}}
  %y = ds.reshape %x, %shape : (tensor<?x?xf32>, tensor<1xi64>) -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// -----

// A run-time dim against a static one: only a run could tell whether it is
// 1 (a broadcast) or 4; kernels would read past the operand otherwise.
func.func @main(%x: tensor<?xf32> {ds.dim_symbols = ["n"]}, %w: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{cuda: cannot tell before a run whether dim 0 of operand 'tensor<?xf32>' broadcasts against the result's dim 0 ('tensor<4xf32>')}}
  %0 = ds.binary add %x, %w : (tensor<?xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Axes a run decides: even where every size is known (all dims 1), the
// kernel would need them at compile time.
func.func @main(%x: tensor<1x1xf32>, %axes: tensor<1xi64>) -> tensor<1x1xf32> {
  // expected-error @+1 {{cuda: a reduction whose axes are known only at run time is not supported (bind them with --ds-bind-input)}}
  %0 = ds.dynamic_reduce max %x, %axes {keepdims = true} : (tensor<1x1xf32>, tensor<1xi64>) -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}
