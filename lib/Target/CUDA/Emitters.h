//===- Emitters.h - one emitter per kind of fusion group --------*- C++ -*-===//
#ifndef DS_LIB_TARGET_CUDA_EMITTERS_H
#define DS_LIB_TARGET_CUDA_EMITTERS_H

#include "DynamicDims.h"
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Target/Artifact/ArtifactWriter.h"

#include <string>
#include <vector>

namespace mlir::ds::cuda {

/// The static shape of a ranked tensor value.
inline ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

/// Where emitters append their kernels and steps.
struct EmitContext {
  const DynamicDims *sizes = nullptr; ///< @main's run-time sizes
  std::string source;
  std::vector<ArtifactStep> steps;
  unsigned kernels = 0;
};

/// Groups without a reduction, matmul or attention: elementwise chains,
/// data movement, convolutions and pooling with their epilogues. One thread
/// per output element (or per vector of elements when the innermost dim
/// allows aligned vector access).
LogicalResult emitPointwise(FusionGroupOp group, const std::string &name, EmitContext &ctx);

/// Groups around one softmax / norm / reduce over trailing axes: one block
/// per row, block-wide fp32 reductions.
LogicalResult emitReduction(FusionGroupOp group, Operation *anchor, const std::string &name,
                            EmitContext &ctx);

/// A group holding one ds.attention: the flash-attention template.
LogicalResult emitAttention(FusionGroupOp group, AttentionOp attention, const std::string &name,
                            EmitContext &ctx);

/// A group holding one ds.block_sparse_attention: the FMA flash-attention
/// template, skipping the key tiles the layout hides.
LogicalResult emitBlockSparseAttention(FusionGroupOp group, BlockSparseAttentionOp op,
                                       const std::string &name, EmitContext &ctx);

/// A group holding one ds.sparse_attention: the gather template
/// (SparseAttention.cuh), one warp per query over its sorted list.
LogicalResult emitSparseAttention(FusionGroupOp group, SparseAttentionOp op,
                                  const std::string &name, EmitContext &ctx);

/// Whether `op` is the only op of `group` but for constants cloned into it,
/// and the group yields exactly its results (single-op groups of ds-fuse).
bool isAloneInGroup(FusionGroupOp group, Operation *op);

/// A group holding one ds.dynamic_quantize: one block finds the range, then
/// quantizes.
LogicalResult emitDynamicQuantize(FusionGroupOp group, DynamicQuantizeOp op,
                                  const std::string &name, EmitContext &ctx);

/// A group holding one ds.topk: the radix-select template (TopK.cuh).
LogicalResult emitTopK(FusionGroupOp group, TopKOp topk, const std::string &name,
                       EmitContext &ctx);

/// A group of a matmul with the epilogue cuBLASLt applies: a cuda.gemm step.
LogicalResult emitGemm(FusionGroupOp group, MatMulOp matmul, EmitContext &ctx);

/// Splits a contraction group around a matmul into the matmul with the
/// epilogue cuBLASLt can apply and an elementwise group for the rest.
LogicalResult splitMatMulGroup(FusionGroupOp group);

} // namespace mlir::ds::cuda

#endif // DS_LIB_TARGET_CUDA_EMITTERS_H
