// RUN: ds-opt %s --ds-print-symbolic-dims --verify-diagnostics -o /dev/null

// Dims named alike are one unknown; shape arithmetic follows them through
// Shape / Gather / Concat / Reshape, ranges, matmuls and broadcasting.
func.func @main(%x: tensor<?x?x8xf32> {ds.dim_symbols = ["batch", "sequence", ""]},
                %m: tensor<?x?xf32> {ds.dim_symbols = ["batch", "sequence"]},
                %w: tensor<8x4xf32>) -> tensor<?x?x2x2xf32> {
  // expected-remark @below {{[] = (0)}}
  %c0 = ds.constant dense<0> : tensor<i64>
  // expected-remark @below {{[] = (1)}}
  %c1 = ds.constant dense<1> : tensor<i64>
  // expected-remark @below {{[2] = (2, 2)}}
  %heads = ds.constant dense<2> : tensor<2xi64>
  // expected-remark @below {{[3] = (s0, s1, 8)}}
  %shape = ds.shape %x {end = 3 : i64, start = 0 : i64} : (tensor<?x?x8xf32>) -> tensor<3xi64>
  // expected-remark @below {{[] = (s1)}}
  %s = ds.gather %shape, %c1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  // expected-remark @below {{[] = (s1 + -1)}}
  %s1 = ds.binary sub %s, %c1 : (tensor<i64>, tensor<i64>) -> tensor<i64>
  // expected-remark @below {{[s1]}}
  %r = ds.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  // A length that could be negative is not claimed: a fresh unknown.
  // expected-remark @below {{[s2]}}
  %r1 = ds.range %c0, %s1, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  // expected-remark @below {{[s0, s1, 4]}}
  %y = ds.matmul %x, %w : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  // expected-remark @below {{[s0, s1, 4]}}
  %z = ds.binary add %y, %y : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  // expected-remark @below {{[2] = (0, 1)}}
  %first = ds.constant dense<[0, 1]> : tensor<2xi64>
  // expected-remark @below {{[2] = (s0, s1)}}
  %bs = ds.gather %shape, %first {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  // expected-remark @below {{[4] = (s0, s1, 2, 2)}}
  %split4 = ds.concat %bs, %heads {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  // expected-remark @below {{[s0, s1, 2, 2]}}
  %h = ds.reshape %z, %split4 : (tensor<?x?x4xf32>, tensor<4xi64>) -> tensor<?x?x2x2xf32>
  return %h : tensor<?x?x2x2xf32>
}
