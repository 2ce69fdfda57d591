//===- EmitPointwise.cpp - one thread per output element (or vector) -----===//
#include "Emitters.h"
#include "KernelWriter.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

/// Bytes per element in memory (sub-byte integers take one each).
static int64_t storageBytes(Type t) {
  return std::max<int64_t>(1, t.getIntOrFloatBitWidth() / 8);
}

/// Elements per thread: 16 bytes of the widest element type, when the group
/// is purely elementwise (every value is read at the thread's own output
/// position or broadcast) and the innermost dim is a multiple of it, so each
/// vector starts aligned and never straddles a row.
static int64_t vectorWidth(FusionGroupOp group, ArrayRef<int64_t> shape) {
  if (shape.empty() || ShapedType::isDynamic(shape.back()))
    return 1;
  int64_t widest = 1;
  for (Operation &op : group.getBody().front().without_terminator()) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
      if (!dense || !dense.isSplat())
        return 1;
      continue;
    }
    // Ops that read their operands at the element's own coordinates (a
    // per-tensor (de)quantize's scale and zero point are one element).
    if (getOpClass(&op) != DSX_OP_ELEMENTWISE && !isPerTensorQuantization(&op))
      return 1;
  }
  SmallVector<Type> types(group.getInputs().getTypes());
  types.append(group.result_type_begin(), group.result_type_end());
  for (Type t : types) {
    auto ranked = cast<RankedTensorType>(t);
    // A run-time innermost dim may be 1 (a broadcast): scalar loads only.
    if (ranked.getRank() > 0 && ranked.isDynamicDim(ranked.getRank() - 1))
      return 1;
    widest = std::max(widest, storageBytes(ranked.getElementType()));
  }
  int64_t vec = std::min<int64_t>(16 / widest, 8);
  while (vec > 1 && shape.back() % vec)
    vec /= 2;
  return vec;
}

static std::string shapeString(ArrayRef<std::string> shape) {
  return shape.empty() ? "scalar" : llvm::join(shape, "x");
}

LogicalResult cuda::emitPointwise(FusionGroupOp group, const std::string &name, EmitContext &ctx) {
  auto yield = cast<YieldOp>(group.getBody().front().getTerminator());
  Value first = group.getResult(0);
  ArrayRef<int64_t> staticShape = shapeOf(first);
  KernelWriter w(group, name, *ctx.sizes);
  Dims shape = w.dims(first);
  for (Value r : group.getResults())
    if (w.dims(r) != shape)
      return group.emitError("cuda: the results of a ")
             << stringifyFusionKind(group.getKind())
             << " group must have one shape (one thread per output element)";
  Size numel = ctx.sizes->product(first, 0, (int64_t)shape.size());
  if (numel.isStatic() && numel.staticValue() == 0)
    return success(); // empty results: nothing to compute, no launch
  int64_t vec = vectorWidth(group, staticShape);
  // A vector never straddles the (static) innermost dim, so this is exact.
  Size threads = numel.ceilDiv(vec);

  w.line() << "// " << stringifyFusionKind(group.getKind()) << " group over " << shapeString(shape)
           << " (" << numel.c() << " elements), " << vec << " per thread\n";
  w.line() << "const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n";
  w.line() << "if (t >= " << threads.c() << ") return;\n";
  if (vec == 1) {
    w.line() << "const long long i = t;\n";
    Coords coords = delinearize("i", shape);
    for (auto [index, value] : llvm::enumerate(yield.getValues())) {
      FailureOr<std::string> v = w.at(value, coords);
      if (failed(v))
        return failure();
      w.line() << "ds_store(" << w.outputParam(index) << ", i, " << *v << ");\n";
    }
  } else {
    w.line() << "const long long i = t * " << vec << ";\n";
    Coords coords = delinearize("i", shape);
    // Inputs that vary along the innermost dim: one vector load each.
    for (BlockArgument arg : group.getBody().front().getArguments()) {
      Dims argShape = w.dims(arg);
      if (arg.use_empty() || argShape.empty() || isOne(argShape.back()))
        continue; // broadcast along the innermost dim: one scalar load
      std::string regs = w.fresh("a");
      std::string ct = computeType(cast<RankedTensorType>(arg.getType()).getElementType());
      w.line() << ct << " " << regs << "[" << vec << "];\n";
      w.line() << "ds_load_vec<" << vec << ">(" << w.inputParam(arg) << ", "
               << linearize(broadcastCoords(argShape, shape, coords), argShape) << ", " << regs
               << ");\n";
      w.override(arg, [regs](ArrayRef<std::string>) -> FailureOr<std::string> {
        return regs + "[v]";
      });
    }
    SmallVector<std::string> results;
    for (Value value : yield.getValues()) {
      results.push_back(w.fresh("r"));
      w.line() << computeType(cast<RankedTensorType>(value.getType()).getElementType()) << " "
               << results.back() << "[" << vec << "];\n";
    }
    w.line() << "#pragma unroll\n";
    w.open("for (int v = 0; v < " + std::to_string(vec) + "; ++v)");
    Coords inner = coords;
    inner.back() = "(" + coords.back() + " + v)";
    for (auto [index, value] : llvm::enumerate(yield.getValues())) {
      FailureOr<std::string> v = w.at(value, inner);
      if (failed(v))
        return failure();
      w.line() << results[index] << "[v] = " << *v << ";\n";
    }
    w.close();
    for (auto [index, r] : llvm::enumerate(results))
      w.line() << "ds_store_vec<" << vec << ">(" << w.outputParam(index) << ", i, " << r << ");\n";
  }

  int64_t block = threads.isStatic()
                      ? std::min<int64_t>(256, (threads.staticValue() + 31) / 32 * 32)
                      : 256;
  Size grid = threads.ceilDiv(block);
  ctx.source += w.globals + w.finish("__launch_bounds__(256)") + "\n";
  ctx.steps.push_back(w.launchStep({grid, Size::of(1), Size::of(1)}, {block, 1, 1}, 0));
  ++ctx.kernels;
  return success();
}
