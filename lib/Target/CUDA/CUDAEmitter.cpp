//===- CUDAEmitter.cpp - @main's fusion groups to one CUDA source --------===//
#include "ds/Target/CUDA/CUDAEmitter.h"
#include "Emitters.h"
#include "KernelWriter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

namespace {
// The kernel templates, embedded at build time (EmbedKernels.cmake).
#include "CUDAKernelSources.inc"
} // namespace

/// The kind ds-fuse would give a group holding only `op`.
static FusionKind singleOpKind(Operation *op) {
  if (isa<MatMulOp, ConvOp, ConvTransposeOp, EinsumOp>(op))
    return FusionKind::contraction;
  if (isa<SoftmaxOp, NormOp, ReduceOp, PoolOp, ArgReduceOp, TopKOp, CumSumOp>(op))
    return FusionKind::reduction;
  if (isa<AttentionOp>(op))
    return FusionKind::attention;
  if (isa<UnaryOp, BinaryOp, CompareOp, SelectOp, CastOp>(op))
    return FusionKind::elementwise;
  return FusionKind::data_movement;
}

LogicalResult ds::prepareGroupsForCUDA(ModuleOp module) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func || !func.getBody().hasOneBlock())
    return module.emitError("cuda: expected a func.func @main with one block");
  Block &body = func.getBody().front();
  // Ops that ds-fuse left alone (or IR that never went through it) run as
  // single-op groups.
  for (Operation &op : llvm::make_early_inc_range(body.without_terminator())) {
    if (isa<ConstantOp, FusionGroupOp>(op) || op.getNumResults() == 0)
      continue;
    OpBuilder b(&op);
    auto group = b.create<FusionGroupOp>(op.getLoc(), op.getResultTypes(), op.getOperands(),
                                         singleOpKind(&op));
    OpBuilder inner = OpBuilder::atBlockEnd(&group.getBody().front());
    IRMapping map;
    map.map(op.getOperands(), group.getBody().front().getArguments());
    Operation *clone = inner.clone(op, map);
    inner.create<YieldOp>(op.getLoc(), clone->getResults());
    op.replaceAllUsesWith(group.getResults());
    op.erase();
  }
  for (auto group : llvm::make_early_inc_range(body.getOps<FusionGroupOp>()))
    if (failed(splitMatMulGroup(group)))
      return failure();
  return success();
}

/// A group that is one reshape of a value the arena holds: a view.
static bool isAliasReshape(FusionGroupOp group) {
  Block &body = group.getBody().front();
  if (!llvm::hasSingleElement(body.without_terminator()))
    return false;
  auto reshape = dyn_cast<ReshapeOp>(body.front());
  if (!reshape || !isa<BlockArgument>(reshape.getInput()) ||
      cast<YieldOp>(body.getTerminator()).getValues() != ValueRange{reshape.getResult()})
    return false;
  Value outer = group.getInputs()[cast<BlockArgument>(reshape.getInput()).getArgNumber()];
  // Graph inputs are bound by the caller and constants are not arena values:
  // those get a copy kernel (the writer could alias constants too, but a
  // graph output must never alias a constant the caller could overwrite).
  return outer.getDefiningOp() && !isa<ConstantOp>(outer.getDefiningOp());
}

static LogicalResult emitGroup(FusionGroupOp group, unsigned index, EmitContext &ctx) {
  SmallVector<Value> values(group.getInputs());
  values.append(group.result_begin(), group.result_end());
  for (Value v : values)
    if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
      return group.emitError("cuda: the CUDA backend needs static shapes (")
             << v.getType() << "); bind the dynamic dims with --ds-input-shape";
  // Every element type the kernel would load or store must have a CUDA type.
  WalkResult types = group.getBody().walk([](Operation *op) {
    for (Value v : llvm::concat<const Value>(SmallVector<Value>(op->getOperands()),
                                             SmallVector<Value>(op->getResults())))
      if (auto t = dyn_cast<RankedTensorType>(v.getType()))
        if (failed(checkElementType(op, t.getElementType())))
          return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (types.wasInterrupted())
    return failure();
  std::string name = "k" + std::to_string(index) + "_" + stringifyFusionKind(group.getKind()).str();
  Block &body = group.getBody().front();
  if (isAliasReshape(group)) {
    ArtifactStep step;
    step.name = "cuda.alias";
    auto reshape = cast<ReshapeOp>(body.front());
    step.inputs = {group.getInputs()[cast<BlockArgument>(reshape.getInput()).getArgNumber()]};
    step.outputs = {group.getResult(0)};
    ctx.steps.push_back(step);
    return success();
  }
  Operation *anchor = nullptr;
  for (Operation &op : body.without_terminator()) {
    if (!isa<AttentionOp, MatMulOp, SoftmaxOp, NormOp, ReduceOp>(op))
      continue;
    if (anchor)
      return op.emitError("cuda: '") << op.getName() << "' in the same fusion group as '"
                                     << anchor->getName() << "' is not supported (one "
                                     << "reduction, matmul or attention per group)";
    anchor = &op;
  }
  if (!anchor)
    return emitPointwise(group, name, ctx);
  if (auto attention = dyn_cast<AttentionOp>(anchor))
    return emitAttention(group, attention, name, ctx);
  if (auto matmul = dyn_cast<MatMulOp>(anchor))
    return emitGemm(group, matmul, ctx);
  return emitReduction(group, anchor, name, ctx);
}

FailureOr<CUDAProgram> ds::emitCUDA(ModuleOp module) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func || !func.getBody().hasOneBlock())
    return module.emitError("cuda: expected a func.func @main with one block"), failure();
  EmitContext ctx;
  ctx.source = "// Generated by ds (lib/Target/CUDA): one kernel per fusion group.\n";
  ctx.source += kPreludeSource;
  ctx.source += kFlashAttentionSource;
  ctx.source += "\n// ---- kernels ----\n\n";
  unsigned index = 0;
  bool ok = true;
  for (Operation &op : func.getBody().front().without_terminator()) {
    if (isa<ConstantOp>(op))
      continue;
    auto group = dyn_cast<FusionGroupOp>(op);
    if (!group) {
      op.emitError("cuda: '") << op.getName() << "' is not in a ds.fusion_group";
      ok = false;
      continue;
    }
    // Report every group that cannot be emitted, not only the first.
    if (failed(emitGroup(group, index++, ctx)))
      ok = false;
  }
  if (!ok)
    return failure();
  CUDAProgram program;
  program.source = std::move(ctx.source);
  program.steps = std::move(ctx.steps);
  program.kernels = ctx.kernels;
  return program;
}
