// RUN: printf '# ds calibration table 1\nmethod=minmax samples=2\n-1 3 fc\n0 2 qkv\n-1 1 qkv#1\n-1 3 conv1\n0 1 conv1#1\n-3e38 3e38 wide\n0 1e-43 narrow\n' > %t.table
// RUN: ds-opt %s --split-input-file --ds-quantize-static="table=%t.table" --verify-diagnostics | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-quantize-static="table=%t.table exclude-nodes=fc,qkv" --verify-diagnostics | FileCheck %s --check-prefix=EXCLUDED

// The activation's range [-1, 3] gives scale 4/255 and zero point 64; the
// weights are quantized as by ds-quantize-dynamic, and the product's scale
// (4/255 x max |w| / 127 per column) is one constant.
// CHECK-LABEL: func @linear
// CHECK-SAME:  (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-DAG:   %[[SX:.*]] = ds.constant dense<0.0156862754> : tensor<f32>
// CHECK-DAG:   %[[ZX:.*]] = ds.constant dense<64> : tensor<ui8>
// CHECK-DAG:   %[[Q:.*]] = ds.quantize %[[X]], %[[SX]], %[[ZX]] {axis = 1 : i64, block_size = 0 : i64} : (tensor<3x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<3x2xui8>
// CHECK-DAG:   %[[W:.*]] = ds.constant dense<{{\[\[}}127, -64], [64, 127]]> : tensor<2x2xi8>
// CHECK-DAG:   %[[S:.*]] = ds.constant dense<[1.23513979E-4, 4.94055916E-4]> : tensor<2xf32>
// CHECK:       %[[I:.*]] = ds.matmul_integer %[[Q]], %[[W]] lhs_zero_point %[[ZX]] : (tensor<3x2xui8>, tensor<2x2xi8>, tensor<ui8>) -> tensor<3x2xi32>
// CHECK-NEXT:  %[[F:.*]] = ds.cast %[[I]] : tensor<3x2xi32> to tensor<3x2xf32>
// CHECK-NEXT:  %[[Y:.*]] = ds.binary mul %[[F]], %[[S]] : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT:  return %[[Y]]
// EXCLUDED-LABEL: func @linear
// EXCLUDED-NOT:   ds.quantize
// EXCLUDED:       ds.matmul %
func.func @linear(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %y = ds.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc")
  return %y : tensor<3x2xf32>
}

// -----

// Two matmuls of one activation (both named qkv: the second is qkv#1) share
// one quantize over the union of their ranges, [-1, 2]: scale 3/255, zero
// point 85.
// CHECK-LABEL: func @shared
// CHECK-DAG:   ds.constant dense<0.0117647061> : tensor<f32>
// CHECK-DAG:   ds.constant dense<85> : tensor<ui8>
// CHECK-COUNT-1: ds.quantize
// CHECK-NOT:   ds.quantize
// CHECK-COUNT-2: ds.matmul_integer
// EXCLUDED-LABEL: func @shared
// EXCLUDED-NOT:   ds.quantize
func.func @shared(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %wq = ds.constant dense<0.5> : tensor<8x8xf32>
  %wk = ds.constant dense<0.25> : tensor<8x8xf32>
  %q = ds.matmul %x, %wq : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("qkv")
  %k = ds.matmul %x, %wk : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("qkv")
  return %q, %k : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A matmul the table does not know stays f32, with a warning (unnamed, it is
// known as ds.matmul).
// CHECK-LABEL: func @unknown
// CHECK-NOT:   ds.quantize
// CHECK:       ds.matmul %
func.func @unknown(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = ds.constant dense<0.5> : tensor<8x8xf32>
  // expected-warning @below {{the calibration table has no range for 'ds.matmul': this ds.matmul stays f32}}
  %y = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A convolution: int8 weights per output channel, the product scaled per
// channel ([M, 1, 1]) and the bias added after. Range [-1, 3] as for fc.
// CHECK-LABEL: func @conv
// CHECK-DAG:   %[[Q:.*]] = ds.quantize %arg0, %{{.*}}, %[[ZX:.*]] {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x2x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xui8>
// CHECK-DAG:   %[[W:.*]] = ds.constant dense<{{.*}}> : tensor<2x2x1x1xi8>
// CHECK:       %[[I:.*]] = ds.conv_integer %[[Q]], %[[W]] input_zero_point %[[ZX]] {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xui8>, tensor<2x2x1x1xi8>, tensor<ui8>) -> tensor<1x2x4x4xi32>
// CHECK:       %[[F:.*]] = ds.cast %[[I]]
// CHECK:       %[[S:.*]] = ds.constant dense<{{\[\[\[}}1.23513979E-4]], {{\[\[}}2.47027958E-4]]]> : tensor<2x1x1xf32>
// CHECK:       %[[Y:.*]] = ds.binary mul %[[F]], %[[S]]
// CHECK:       %[[B:.*]] = ds.reshape %arg1
// CHECK:       ds.binary add %[[Y]], %[[B]]
// EXCLUDED-LABEL: func @conv
// EXCLUDED:       ds.conv_integer
func.func @conv(%x: tensor<1x2x4x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %w = ds.constant dense<[[[[1.0]], [[-0.5]]], [[[2.0]], [[0.25]]]]> : tensor<2x2x1x1xf32>
  %y = ds.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %y : tensor<1x2x4x4xf32>
}

// -----

// A convolution whose input is the previous convolution's result (replaced
// and erased first): both are quantized.
// CHECK-LABEL: func @chained_convs
// CHECK-COUNT-2: ds.conv_integer
// EXCLUDED-LABEL: func @chained_convs
// EXCLUDED-COUNT-2: ds.conv_integer
func.func @chained_convs(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = ds.constant dense<0.5> : tensor<2x2x1x1xf32>
  %h = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  %y = ds.conv %h, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Extreme ranges from a table give finite, nonzero scales: [-3e38, 3e38]
// (wider than a float), [0, 1e-43] (its width / 255 underflows a float).
// CHECK-LABEL: func @extreme_ranges
// CHECK-DAG:   ds.constant dense<2.3529411E+36> : tensor<f32>
// CHECK-DAG:   ds.constant dense<1.17549435E-38> : tensor<f32>
func.func @extreme_ranges(%x: tensor<2x2xf32>, %y: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %v = ds.constant dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %a = ds.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32> loc("wide")
  %b = ds.matmul %y, %v : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32> loc("narrow")
  return %a, %b : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// A max pool in front of a quantized convolution: its input is quantized
// (same scale and zero point) and the pool runs on the u8 values, so the
// producer stores u8. Range [-1, 3] as for conv1.
// CHECK-LABEL: func @max_pool_before_conv
// CHECK-DAG:   %[[SX:.*]] = ds.constant dense<0.0156862754> : tensor<f32>
// CHECK-DAG:   %[[ZX:.*]] = ds.constant dense<64> : tensor<ui8>
// CHECK:       %[[Q:.*]] = ds.quantize %arg0, %[[SX]], %[[ZX]] {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x2x8x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2x8x8xui8>
// CHECK-NEXT:  %[[P:.*]] = ds.pool max %[[Q]] {{.*}} : (tensor<1x2x8x8xui8>) -> tensor<1x2x4x4xui8>
// CHECK-NOT:   ds.quantize
// CHECK:       ds.conv_integer %[[P]], %{{.*}} input_zero_point %[[ZX]]
// EXCLUDED-LABEL: func @max_pool_before_conv
// EXCLUDED:       ds.quantize %arg0
// EXCLUDED-NEXT:  ds.pool max %{{.*}} -> tensor<1x2x4x4xui8>
func.func @max_pool_before_conv(%x: tensor<1x2x8x8xf32>, %b: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %p = ds.pool max %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  %w = ds.constant dense<[[[[1.0]], [[-0.5]]], [[[2.0]], [[0.25]]]]> : tensor<2x2x1x1xf32>
  %y = ds.conv %p, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %y : tensor<1x2x4x4xf32>
}

// -----

// The quantize stays after the pool in ceil mode (which the rewrite does
// not take: a last window may start in the padding) and when something else
// reads the f32 pool (each pool reading an input of its own).
// CHECK-LABEL: func @max_pool_kept_f32
// CHECK:       %[[P:.*]] = ds.pool max %arg0 {{.*}} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
// CHECK:       ds.quantize %[[P]]
// CHECK:       %[[P2:.*]] = ds.pool max %arg1 {{.*}} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
// CHECK:       ds.quantize %[[P2]]
// CHECK:       return {{.*}}, %[[P2]]
// EXCLUDED-LABEL: func @max_pool_kept_f32
func.func @max_pool_kept_f32(%x: tensor<1x2x8x8xf32>, %x2: tensor<1x2x8x8xf32>, %b: tensor<2xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %p = ds.pool max %x {ceil_mode = true, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  %w = ds.constant dense<[[[[1.0]], [[-0.5]]], [[[2.0]], [[0.25]]]]> : tensor<2x2x1x1xf32>
  %y = ds.conv %p, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  %p2 = ds.pool max %x2 {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  %y2 = ds.conv %p2, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %y, %y2, %p2 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// The pool's input is also a result: it stays f32, so the quantize stays
// after the pool (before it, it would quantize the larger tensor as well).
// CHECK-LABEL: func @max_pool_input_read_elsewhere
// CHECK:       %[[P:.*]] = ds.pool max %arg0 {{.*}} -> tensor<1x2x4x4xf32>
// CHECK:       ds.quantize %[[P]]
// EXCLUDED-LABEL: func @max_pool_input_read_elsewhere
func.func @max_pool_input_read_elsewhere(%x: tensor<1x2x8x8xf32>, %b: tensor<2xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x8x8xf32>) {
  %p = ds.pool max %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  %w = ds.constant dense<[[[[1.0]], [[-0.5]]], [[[2.0]], [[0.25]]]]> : tensor<2x2x1x1xf32>
  %y = ds.conv %p, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %y, %x : tensor<1x2x4x4xf32>, tensor<1x2x8x8xf32>
}
