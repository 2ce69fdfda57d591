//===- FusionOps.cpp - ds.fusion_group and ds.yield -----------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ds;

void FusionGroupOp::build(OpBuilder &builder, OperationState &state, TypeRange resultTypes,
                          ValueRange inputs, FusionKind kind) {
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  state.addAttribute(getKindAttrName(state.name), FusionKindAttr::get(builder.getContext(), kind));
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), input.getLoc());
}

LogicalResult FusionGroupOp::verify() {
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError("body has ") << block.getNumArguments() << " arguments for "
                                    << getInputs().size() << " inputs";
  for (auto [index, pair] : llvm::enumerate(llvm::zip(block.getArguments(), getInputs()))) {
    auto [argument, input] = pair;
    if (argument.getType() != input.getType())
      return emitOpError("body argument #") << index << " has type " << argument.getType()
                                            << " but input #" << index << " is "
                                            << input.getType();
  }
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yields ") << yield.getValues().size() << " value(s) of types "
                                  << yield.getValues().getTypes() << " but has result types "
                                  << getResultTypes();
  if (getResults().empty())
    return emitOpError("must produce at least one result");
  return success();
}

FusionKind mlir::ds::singleOpFusionKind(Operation *op) {
  switch (getOpClass(op)) {
  case DSX_OP_ELEMENTWISE:
    return FusionKind::elementwise;
  case DSX_OP_PRECISION:
    // dynamic_quantize reduces the whole tensor to its scale first.
    return isa<DynamicQuantizeOp>(op) ? FusionKind::data_movement : FusionKind::elementwise;
  case DSX_OP_REDUCTION:
  case DSX_OP_WINDOW:
    return FusionKind::reduction;
  case DSX_OP_CONTRACTION:
    return FusionKind::contraction;
  case DSX_OP_ATTENTION:
    return FusionKind::attention;
  case DSX_OP_DATA_MOVEMENT:
  case DSX_OP_SHAPE:
  case DSX_OP_GENERATOR:
  case DSX_OP_OTHER:
    return FusionKind::data_movement;
  }
  return FusionKind::data_movement;
}

namespace {
int64_t resultRank(Operation *op) {
  if (op->getNumResults() == 0)
    return 0;
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  return type ? type.getRank() : 0;
}

/// `axis` counted from the front for a tensor of rank `rank`.
int64_t normalizedAxis(int64_t axis, int64_t rank) {
  return std::clamp<int64_t>(axis < 0 ? axis + rank : axis, 0, rank);
}
} // namespace

int64_t mlir::ds::getParallelLeadingDims(Operation *op) {
  int64_t rank = resultRank(op);
  if (getOpClass(op) == DSX_OP_ELEMENTWISE || isPerTensorQuantization(op))
    return rank;
  return llvm::TypeSwitch<Operation *, int64_t>(op)
      .Case([&](ReduceOp reduce) {
        ArrayRef<int64_t> axes = reduce.getAxes();
        return axes.empty() ? rank : std::min(rank, axes.front()); // axes are sorted
      })
      .Case([&](SoftmaxOp softmax) { return normalizedAxis(softmax.getAxis(), rank); })
      .Case([&](NormOp norm) { return normalizedAxis(norm.getAxis(), rank); })
      .Case([&](MatMulOp matmul) -> int64_t {
        // A 1-D operand drops M or N from the result: no row structure then.
        auto lhs = cast<RankedTensorType>(matmul.getLhs().getType());
        auto rhs = cast<RankedTensorType>(matmul.getRhs().getType());
        return lhs.getRank() >= 2 && rhs.getRank() >= 2 ? rank - 1 : 0;
      })
      .Default([](Operation *) { return 0; });
}

GroupTiling mlir::ds::getGroupTiling(FusionGroupOp group) {
  GroupTiling tiling;
  std::optional<int64_t> dims;
  for (Operation &op : group.getBody().front().without_terminator()) {
    if (isa<ConstantOp>(op))
      continue;
    int64_t opDims = getParallelLeadingDims(&op);
    // Still in the head: an op without independent rows, or a leading
    // matmul (tiles would re-pack its whole rhs each and leave the GEMM's
    // own blocking; the CPU runs it whole and tiles its epilogue).
    if (!dims && (opDims == 0 || isa<MatMulOp>(op))) {
      ++tiling.headOps;
      continue;
    }
    dims = std::min(dims.value_or(INT64_MAX), opDims);
  }
  tiling.parallelDims = dims.value_or(0);
  return tiling;
}
