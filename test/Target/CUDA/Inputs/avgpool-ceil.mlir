// Average pooling whose last windows reach past the end padding (ceil_mode):
// with count_include_pad the divisor counts the positions inside the padded
// input, not the whole window (host-emulation.test; the node suite's
// test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True
// found the difference).
func.func @main(%x: tensor<1x2x8x8xf32> {ds.name = "x"})
    -> (tensor<1x2x5x5xf32> {ds.name = "include_pad"}, tensor<1x2x5x5xf32> {ds.name = "exclude_pad"},
        tensor<1x2x4x4xf32> {ds.name = "dilated"}) {
  %0 = ds.pool avg %x {ceil_mode = true, count_include_pad = true, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x5x5xf32>
  %1 = ds.pool avg %x {ceil_mode = true, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x5x5xf32>
  %2 = ds.pool avg %x {ceil_mode = true, count_include_pad = true, dilations = array<i64: 2, 2>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  return %0, %1, %2 : tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x4x4xf32>
}
