//===- FusionPasses.td - fusion groups ---------------------*- tablegen -*-===//
//
// Fusion: one group per backend kernel. Included by Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_FUSIONPASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_FUSIONPASSES_TD

include "mlir/Pass/PassBase.td"

def FusePass : Pass<"ds-fuse", "func::FuncOp"> {
  let summary = "Group ds ops into ds.fusion_group ops, one per backend kernel";
  let description = [{
    Walks each block in order and grows groups greedily (no recursion, linear
    in the number of ops and uses):

    - elementwise chains (`ds.unary`, `ds.binary`, `ds.compare`, `ds.select`,
      `ds.cast`, and `ds.quantize` / `ds.dequantize` with one scale, not
      per axis or blocked) whose results have the group's shape; smaller
      operands broadcast in; sibling chains of the same shape merge at the
      op that combines them;
    - reductions (`ds.softmax`, `ds.norm`, `ds.reduce`) with their elementwise
      producers and the elementwise consumers of their output shape;
    - contractions (`ds.matmul`, `ds.conv`, `ds.conv_transpose`, `ds.einsum`,
      `ds.matmul_integer`, `ds.conv_integer`) with an elementwise epilogue of
      their output shape (bias, activation, residual add, scale, and a QDQ
      model's requantization: the CPU runs an integer convolution's as it
      stores its sums);
    - one `ds.attention` per group;
    - every other op in a single-op group (`data_movement`, or `reduction`
      for pool / arg_reduce / topk / cumsum).

    Each group is placed where its last op was. A group stops growing once
    one of its values is used by an op outside it (the group could no longer
    be placed before that user), so groups never form a cycle. A value used
    inside and after the group becomes an extra result. Shapes must be
    equal, a `?` dim matching only a `?` at the same place; since two `?`
    may still differ at run time, a backend checks the bound sizes before
    it runs a dynamic group as one kernel (the CPU runtime otherwise runs
    its ops one by one). Constants are group inputs, except splats, tensors of at most one
    element and integer tensors of at most 64 elements (shape parameters),
    which are cloned into the body.

    `explain` reports every decision as a remark at the op (which group it
    joined and why, or why it did not join a producer's group); the same
    lines go to `--debug-only=ds-fuse` in builds with assertions.

    ```mlir
    %r = ds.fusion_group contraction (%x, %w, %b) : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x16xf32> {
    ^bb0(%a: tensor<4x8xf32>, %c: tensor<8x16xf32>, %d: tensor<16xf32>):
      %0 = ds.matmul %a, %c : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
      %1 = ds.binary add %0, %d : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
      %2 = ds.unary relu %1 : (tensor<4x16xf32>) -> tensor<4x16xf32>
      ds.yield %2 : tensor<4x16xf32>
    }
    ```
  }];
  let options = [
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Report each fusion decision as a remark at the op">,
  ];
  let statistics = [
    Statistic<"numGroups", "groups", "Fusion groups created">,
    Statistic<"numFusedOps", "fused-ops", "Ops that share a group with another op">,
  ];
}

#endif // DS_DIALECT_DS_TRANSFORMS_FUSIONPASSES_TD
