//===- ReductionImporters.cpp - ONNX Reduce* ops to ds.reduce --------------===//
#include "NodeImporter.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
/// Reduces `x` over axes that only a run knows (a graph input, or computed
/// from one): their count must be static, the result's dims are `?`.
LogicalResult reduceByValue(NodeImporter &n, ReduceKind kind, Value x, Value axes) {
  auto axesType = cast<RankedTensorType>(axes.getType());
  if (axesType.getRank() != 1 || axesType.isDynamicDim(0))
    return n.error() << "axes known only at run time need a static 1-D shape, got shape "
                     << formatShape(axesType.getShape()),
           failure();
  bool keepdims = n.attrInt("keepdims", 1) != 0;
  bool isBool = n.typeOf(x).getElementType().isInteger(1);
  Value input = isBool ? n.castTo(x, n.builder.getIntegerType(8, false)) : x;
  Value y = input ? n.create<DynamicReduceOp>(kind, input, axes, keepdims) : Value();
  if (y && isBool)
    y = n.castTo(y, n.builder.getI1Type());
  return n.produce({y});
}

/// `axesFromInputSince`: the since-version from which axes is an input.
ImportFn reduceFn(ReduceKind kind, int64_t axesFromInputSince) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "data");
    if (failed(x))
      return failure();
    SmallVector<int64_t> axes;
    if (n.since >= axesFromInputSince) {
      if (Value axesValue = n.input(1)) {
        std::optional<SmallVector<int64_t>> given = n.inputInts(1);
        if (!given)
          return reduceByValue(n, kind, *x, axesValue);
        axes = *given;
      }
    } else {
      axes = n.attrInts("axes");
    }
    int64_t rank = n.typeOf(*x).getRank();
    bool keepdims = n.attrInt("keepdims", 1) != 0;
    if (axes.empty()) {
      if (n.attrInt("noop_with_empty_axes", 0)) {
        n.setOutputs({*x});
        return success();
      }
      for (int64_t d = 0; d < rank; ++d)
        axes.push_back(d);
    }
    SmallVector<int64_t> normalized;
    for (int64_t a : axes) {
      auto axis = normalizeAxis(a, rank);
      if (!axis)
        return n.error() << "axis " << a << " is out of range for rank " << rank;
      if (!llvm::is_contained(normalized, *axis))
        normalized.push_back(*axis);
    }
    llvm::sort(normalized);
    Value input = *x;
    // Boolean inputs (ReduceMax/Min over i1) reduce as i8 and convert back.
    bool isBool = n.typeOf(input).getElementType().isInteger(1);
    if (isBool)
      input = n.castTo(input, n.builder.getIntegerType(8, false));
    Value y = input ? n.reduce(kind, input, normalized, keepdims) : Value();
    if (y && isBool)
      y = n.castTo(y, n.builder.getI1Type());
    if (!y)
      return failure();
    n.setOutputs({y});
    return success();
  };
}
} // namespace

void onnx_import::registerReductionImporters(OpRegistry &r) {
  constexpr int64_t all = kAllVersions;
  r.add("ReduceSum", 1, all, reduceFn(ReduceKind::sum, 13));
  r.add("ReduceMean", 1, all, reduceFn(ReduceKind::mean, 18));
  r.add("ReduceMax", 1, all, reduceFn(ReduceKind::max, 18));
  r.add("ReduceMin", 1, all, reduceFn(ReduceKind::min, 18));
  r.add("ReduceProd", 1, all, reduceFn(ReduceKind::prod, 18));
  r.add("ReduceSumSquare", 1, all, reduceFn(ReduceKind::sum_square, 18));
  r.add("ReduceL1", 1, all, reduceFn(ReduceKind::l1, 18));
  r.add("ReduceL2", 1, all, reduceFn(ReduceKind::l2, 18));
  r.add("ReduceLogSum", 1, all, reduceFn(ReduceKind::log_sum, 18));
  r.add("ReduceLogSumExp", 1, all, reduceFn(ReduceKind::log_sum_exp, 18));
}
