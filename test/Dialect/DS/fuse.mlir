// RUN: ds-opt %s --split-input-file --ds-fuse | FileCheck %s
// RUN: ds-opt %s --split-input-file --ds-fuse --ds-fuse | FileCheck %s
// ds-fuse groups ds ops into ds.fusion_group kernels; running it twice changes
// nothing (existing groups are left alone).

// CHECK-LABEL: func @elementwise_chain
// An elementwise chain with a broadcast operand is one group; the scalar
// constant is cloned into the body, the bias vector is an input.
// CHECK:      %[[G:.*]] = ds.fusion_group elementwise (%arg0, %arg1) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8xf32>):
// CHECK-NEXT:   %[[C:.*]] = ds.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NEXT:   %[[A:.*]] = ds.binary add %[[X]], %[[B]]
// CHECK-NEXT:   %[[R:.*]] = ds.unary relu %[[A]]
// CHECK-NEXT:   %[[M:.*]] = ds.binary mul %[[R]], %[[C]]
// CHECK-NEXT:   ds.yield %[[M]] : tensor<4x8xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[G]]
func.func @elementwise_chain(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %c = ds.constant dense<2.0> : tensor<f32>
  %0 = ds.binary add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = ds.unary relu %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = ds.binary mul %1, %c : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @softmax_with_producer_and_consumer
// The scale before a softmax and the cast after it run in one reduction kernel.
// CHECK:      ds.fusion_group reduction (%arg0) : (tensor<2x16xf32>) -> tensor<2x16xf16> {
// CHECK:        ds.binary mul
// CHECK-NEXT:   ds.softmax
// CHECK-NEXT:   ds.cast
// CHECK-NEXT:   ds.yield
// CHECK-NOT:  ds.fusion_group
func.func @softmax_with_producer_and_consumer(%x: tensor<2x16xf32>) -> tensor<2x16xf16> {
  %s = ds.constant dense<0.125> : tensor<f32>
  %0 = ds.binary mul %x, %s : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %1 = ds.softmax %0 {axis = -1 : i64} : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %2 = ds.cast %1 : tensor<2x16xf32> to tensor<2x16xf16>
  return %2 : tensor<2x16xf16>
}

// -----

// CHECK-LABEL: func @layernorm_residual_scale_shift
// Residual add -> layer norm -> scale and shift: one reduction group.
// CHECK:      ds.fusion_group reduction (%arg0, %arg1, %arg2, %arg3) : (tensor<1x16x64xf32>, tensor<1x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
// CHECK:        ds.binary add
// CHECK-NEXT:   ds.norm mean_var
// CHECK-NEXT:   ds.binary mul
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.yield
// CHECK-NOT:  ds.fusion_group
func.func @layernorm_residual_scale_shift(%x: tensor<1x16x64xf32>, %r: tensor<1x16x64xf32>, %gamma: tensor<64xf32>, %beta: tensor<64xf32>) -> tensor<1x16x64xf32> {
  %0 = ds.binary add %x, %r : (tensor<1x16x64xf32>, tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  %1 = ds.norm mean_var %0 {axis = 2 : i64, epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 0, 0>} : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  %2 = ds.binary mul %1, %gamma : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  %3 = ds.binary add %2, %beta : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  return %3 : tensor<1x16x64xf32>
}

// -----

// CHECK-LABEL: func @rmsnorm
// A raised RMS norm with its weight, then the cast consumer.
// CHECK:      ds.fusion_group reduction (%arg0, %arg1) : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf16>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.norm rms
// CHECK-NEXT:   ds.cast
// CHECK-NEXT:   ds.yield
func.func @rmsnorm(%x: tensor<1x16x64xf32>, %w: tensor<64xf32>) -> tensor<1x16x64xf16> {
  %0 = ds.norm rms %x, %w {axis = 2 : i64, epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<1x16x64xf32>, tensor<64xf32>) -> tensor<1x16x64xf32>
  %1 = ds.cast %0 : tensor<1x16x64xf32> to tensor<1x16x64xf16>
  return %1 : tensor<1x16x64xf16>
}

// -----

// CHECK-LABEL: func @rmsnorm_decomposed
// x*x -> mean -> +eps -> sqrt share a reduction kernel; the division has the
// input's shape, not the reduction's output shape, so it is a second group.
// CHECK:      %[[R:.*]] = ds.fusion_group reduction (%arg0) : (tensor<4x64xf32>) -> tensor<4x1xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.constant dense<9.99999974E-6> : tensor<f32>
// CHECK-NEXT:   ds.binary mul
// CHECK-NEXT:   ds.reduce mean
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.unary sqrt
// CHECK-NEXT:   ds.yield
// CHECK:      ds.fusion_group elementwise (%arg0, %[[R]]) : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.binary div
// CHECK-NEXT:   ds.yield
func.func @rmsnorm_decomposed(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %eps = ds.constant dense<1.0e-5> : tensor<f32>
  %0 = ds.binary mul %x, %x : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %1 = ds.reduce mean %0 {axes = array<i64: 1>, keepdims = true} : (tensor<4x64xf32>) -> tensor<4x1xf32>
  %2 = ds.binary add %1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %3 = ds.unary sqrt %2 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %4 = ds.binary div %x, %3 : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %4 : tensor<4x64xf32>
}

// -----

// CHECK-LABEL: func @matmul_bias_gelu_residual
// GEMM with its epilogue: bias along the last dim, gelu, residual add, scale.
// CHECK:      %[[G:.*]] = ds.fusion_group contraction (%arg0, %arg1, %arg2, %arg3) : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<16xf32>, %[[RES:.*]]: tensor<4x16xf32>):
// CHECK-NEXT:   %[[S:.*]] = ds.constant dense<5.000000e-01> : tensor<f32>
// CHECK-NEXT:   %[[MM:.*]] = ds.matmul %[[X]], %[[W]]
// CHECK-NEXT:   %[[BIAS:.*]] = ds.binary add %[[MM]], %[[B]]
// CHECK-NEXT:   %[[ACT:.*]] = ds.unary gelu %[[BIAS]]
// CHECK-NEXT:   %[[SUM:.*]] = ds.binary add %[[RES]], %[[ACT]]
// CHECK-NEXT:   %[[OUT:.*]] = ds.binary mul %[[SUM]], %[[S]]
// CHECK-NEXT:   ds.yield %[[OUT]]
// CHECK-NEXT: }
// CHECK-NEXT: return %[[G]]
func.func @matmul_bias_gelu_residual(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>, %r: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %s = ds.constant dense<0.5> : tensor<f32>
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = ds.binary add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = ds.unary gelu %1 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = ds.binary add %r, %2 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %4 = ds.binary mul %3, %s : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  return %4 : tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func @conv_bias_relu
// Convolution + per-channel bias + relu; the bias constant (not a splat) is an input.
// CHECK:      %[[B:.*]] = ds.constant dense<{{.*}}> : tensor<1x4x1x1xf32>
// CHECK:      ds.fusion_group contraction (%arg0, %arg1, %[[B]]) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.conv
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.unary relu
// CHECK-NEXT:   ds.yield
// CHECK-NOT:  ds.fusion_group
func.func @conv_bias_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %b = ds.constant dense<[[[[1.0]], [[2.0]], [[3.0]], [[4.0]]]]> : tensor<1x4x1x1xf32>
  %0 = ds.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  %1 = ds.binary add %0, %b : (tensor<1x4x8x8xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %2 = ds.unary relu %1 : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  return %2 : tensor<1x4x8x8xf32>
}

// -----

// CHECK-LABEL: func @silu_epilogue
// silu = x * sigmoid(x) on a matmul result uses the result twice inside the group.
// CHECK:      ds.fusion_group contraction
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   %[[MM:.*]] = ds.matmul
// CHECK-NEXT:   %[[SIG:.*]] = ds.unary sigmoid %[[MM]]
// CHECK-NEXT:   ds.binary mul %[[MM]], %[[SIG]]
// CHECK-NEXT:   ds.yield
// CHECK-NOT:  ds.fusion_group
func.func @silu_epilogue(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = ds.unary sigmoid %0 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %2 = ds.binary mul %0, %1 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %2 : tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func @attention
// One ds.attention per group; the op after it is a group of its own.
// CHECK:      %[[A:.*]] = ds.fusion_group attention (%arg0, %arg1, %arg2) : (tensor<1x4x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>) -> tensor<1x4x16x16xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.attention {{.*}}is_causal
// CHECK-NEXT:   ds.yield
// CHECK:      ds.fusion_group elementwise (%[[A]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary neg
func.func @attention(%q: tensor<1x4x16x16xf32>, %k: tensor<1x2x16x16xf32>, %v: tensor<1x2x16x16xf32>) -> tensor<1x4x16x16xf32> {
  %0 = ds.attention %q, %k, %v {is_causal} : (tensor<1x4x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>) -> tensor<1x4x16x16xf32>
  %1 = ds.unary neg %0 : (tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  return %1 : tensor<1x4x16x16xf32>
}

// -----

// CHECK-LABEL: func @used_inside_and_after
// %0 feeds the chain and, after the chain, a transpose: the group yields it as
// an extra result.
// CHECK:      %[[G:.*]]:2 = ds.fusion_group elementwise (%arg0) : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<4x8xf32>):
// CHECK-NEXT:   %[[R:.*]] = ds.unary relu %[[X]]
// CHECK-NEXT:   %[[E:.*]] = ds.unary exp %[[R]]
// CHECK-NEXT:   ds.yield %[[R]], %[[E]]
// CHECK:      %[[T:.*]] = ds.fusion_group data_movement (%[[G]]#0)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.transpose
// CHECK:      return %[[G]]#1, %[[T]]
func.func @used_inside_and_after(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8x4xf32>) {
  %0 = ds.unary relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = ds.unary exp %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = ds.transpose %0 {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return %1, %2 : tensor<4x8xf32>, tensor<8x4xf32>
}

// -----

// CHECK-LABEL: func @used_outside_in_the_middle
// The transpose reads %0 before the chain ends, so the chain is cut there: a
// group placed after the exp could not feed the transpose.
// CHECK:      %[[G:.*]] = ds.fusion_group elementwise (%arg0)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary relu
// CHECK-NEXT:   ds.yield
// CHECK:      ds.fusion_group data_movement (%[[G]])
// CHECK:      ds.fusion_group elementwise (%[[G]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary exp
func.func @used_outside_in_the_middle(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8x4xf32>) {
  %0 = ds.unary relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = ds.transpose %0 {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %2 = ds.unary exp %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2, %1 : tensor<4x8xf32>, tensor<8x4xf32>
}

// -----

// CHECK-LABEL: func @diamond
// relu feeds two branches that meet again: one group, one result.
// CHECK:      ds.fusion_group elementwise (%arg0) : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary relu
// CHECK-NEXT:   ds.unary exp
// CHECK-NEXT:   ds.unary neg
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.yield
// CHECK-NOT:  ds.fusion_group
func.func @diamond(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = ds.unary relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = ds.unary exp %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = ds.unary neg %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = ds.binary add %1, %2 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @sibling_chains_merge
// Two independent chains of the same shape merge at the add that combines them.
// CHECK:      ds.fusion_group elementwise (%arg0, %arg1) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary exp
// CHECK-NEXT:   ds.unary tanh
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.yield
// CHECK-NOT:  ds.fusion_group
func.func @sibling_chains_merge(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = ds.unary exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = ds.unary tanh %y : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = ds.binary add %0, %1 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @no_cycle
// The add reads the matmul result and a transpose of it. Fusing the add into
// the matmul's group would make the group need the transpose, which needs the
// group: the add gets its own group after the transposes.
// CHECK:      %[[MM:.*]] = ds.fusion_group contraction (%arg0, %arg1)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.matmul
// CHECK-NEXT:   ds.yield
// CHECK:      %[[T1:.*]] = ds.fusion_group data_movement (%[[MM]])
// CHECK:      %[[N:.*]] = ds.fusion_group elementwise (%[[T1]])
// CHECK:      %[[T2:.*]] = ds.fusion_group data_movement (%[[N]])
// CHECK:      ds.fusion_group elementwise (%[[MM]], %[[T2]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.binary add
func.func @no_cycle(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %0 = ds.matmul %x, %w : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  %1 = ds.transpose %0 {perm = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %2 = ds.unary neg %1 : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %3 = ds.transpose %2 {perm = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %4 = ds.binary add %0, %3 : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  return %4 : tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @epilogue_operand_computed_later
// The residual is computed after the matmul but does not depend on it: the
// group runs where its last op was, after the residual's group.
// CHECK:      %[[E:.*]] = ds.fusion_group elementwise (%arg2)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary exp
// CHECK:      ds.fusion_group contraction (%arg0, %arg1, %[[E]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.matmul
// CHECK-NEXT:   ds.binary add
func.func @epilogue_operand_computed_later(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %r: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = ds.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = ds.unary exp %r : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %2 = ds.binary add %0, %1 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %2 : tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func @single_op_groups
// Ops that do not fuse get their own groups; reshape is a view with its shape
// constant cloned into the body, pool is a reduction.
// CHECK:      ds.fusion_group data_movement (%arg0) : (tensor<1x4x8x8xf32>) -> tensor<1x4x64xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.constant dense<[1, 4, 64]> : tensor<3xi64>
// CHECK-NEXT:   ds.reshape
// CHECK:      ds.fusion_group reduction (%arg0) : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.pool max
func.func @single_op_groups(%x: tensor<1x4x8x8xf32>) -> (tensor<1x4x64xf32>, tensor<1x4x4x4xf32>) {
  %s = ds.constant dense<[1, 4, 64]> : tensor<3xi64>
  %0 = ds.reshape %x, %s : (tensor<1x4x8x8xf32>, tensor<3xi64>) -> tensor<1x4x64xf32>
  %1 = ds.pool max %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  return %0, %1 : tensor<1x4x64xf32>, tensor<1x4x4x4xf32>
}

// -----

// CHECK-LABEL: func @dynamic_shapes
// A `?` dim matches a `?` at the same place: the softmax group takes its
// producer and consumer; a result of another shape (?x1) starts a new group.
// CHECK:      ds.fusion_group reduction (%arg0, %arg1) : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.softmax
// CHECK-NEXT:   ds.unary exp
// CHECK-NEXT:   ds.yield
// CHECK:      ds.fusion_group reduction
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.reduce sum
// CHECK-NEXT:   ds.yield
func.func @dynamic_shapes(%d: tensor<?x8xf32>, %b: tensor<8xf32>) -> (tensor<?x8xf32>, tensor<?x1xf32>) {
  %0 = ds.binary add %d, %b : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %1 = ds.softmax %0 {axis = -1 : i64} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %2 = ds.unary exp %1 : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %3 = ds.reduce sum %2 {axes = array<i64: 1>, keepdims = true} : (tensor<?x8xf32>) -> tensor<?x1xf32>
  return %2, %3 : tensor<?x8xf32>, tensor<?x1xf32>
}

// -----

// Several functions are fused independently.
// CHECK-LABEL: func @first
// CHECK:         ds.fusion_group elementwise
// CHECK-LABEL: func @second
// CHECK:         ds.fusion_group contraction
func.func @first(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ds.unary neg %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func @second(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = ds.matmul %x, %x : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// CHECK-LABEL: func @other_dialect_user_and_dead_op
// A func.call reading %0 mid-chain seals its group like any outside user; an
// op whose result is unused still gets a group that yields it.
// CHECK:      %[[G:.*]] = ds.fusion_group elementwise (%arg0)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary relu
// CHECK-NEXT:   ds.yield
// CHECK:      call @sink(%[[G]])
// CHECK:      ds.fusion_group elementwise (%[[G]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary exp
// CHECK:      ds.fusion_group data_movement (%arg0)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   %[[T:.*]] = ds.transpose
// CHECK-NEXT:   ds.yield %[[T]]
func.func private @sink(tensor<4x8xf32>)
func.func @other_dialect_user_and_dead_op(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = ds.unary relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  func.call @sink(%0) : (tensor<4x8xf32>) -> ()
  %1 = ds.unary exp %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = ds.transpose %x {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @requantization_joins_the_integer_convolution
// A QDQ model's requantization (scale, bias, the next layer's per-tensor
// quantize, a fake-quantized residual add) is the convolution's epilogue:
// quantize / dequantize with one scale are elementwise for fusion.
// CHECK:      ds.fusion_group contraction
// CHECK:        ds.conv_integer
// CHECK-NEXT:   ds.cast
// CHECK-NEXT:   ds.binary mul
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.quantize
// CHECK-NEXT:   ds.dequantize
// CHECK-NEXT:   ds.binary add
// CHECK-NEXT:   ds.quantize
// CHECK-NEXT:   ds.yield {{.*}} : tensor<1x4x8x8xui8>
// CHECK-NOT:  ds.fusion_group
func.func @requantization_joins_the_integer_convolution(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>, %scale: tensor<4x1x1xf32>, %bias: tensor<4x1x1xf32>, %residual: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xui8> {
  %s = ds.constant dense<0.05> : tensor<f32>
  %z = ds.constant dense<3> : tensor<ui8>
  %0 = ds.conv_integer %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32>
  %1 = ds.cast %0 : tensor<1x4x8x8xi32> to tensor<1x4x8x8xf32>
  %2 = ds.binary mul %1, %scale : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %3 = ds.binary add %2, %bias : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %4 = ds.quantize %3, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x8x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x8x8xui8>
  %5 = ds.dequantize %4, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x8x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x8x8xf32>
  %6 = ds.binary add %5, %residual : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %7 = ds.quantize %6, %s, %z {axis = 1 : i64, block_size = 0 : i64} : (tensor<1x4x8x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x8x8xui8>
  return %7 : tensor<1x4x8x8xui8>
}

// -----

// CHECK-LABEL: func @per_axis_quantization_stays_alone
// A per-axis quantize reads its scale by position: a group of its own.
// CHECK:      ds.fusion_group elementwise (%arg0)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   ds.unary relu
// CHECK-NEXT:   ds.yield
// CHECK:      ds.fusion_group elementwise
// CHECK:        ds.quantize
// CHECK-NEXT:   ds.yield
func.func @per_axis_quantization_stays_alone(%x: tensor<2x4xf32>, %s: tensor<4xf32>) -> tensor<2x4xi8> {
  %0 = ds.unary relu %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = ds.quantize %0, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xi8>
  return %1 : tensor<2x4xi8>
}
