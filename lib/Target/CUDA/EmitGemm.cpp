//===- EmitGemm.cpp - matmul groups as cuBLASLt steps --------------------===//
//
// A contraction group around a ds.matmul becomes a cuda.gemm step. The
// epilogue that cuBLASLt applies itself — a bias row vector added to every
// row, a residual of the result's shape added as C (beta = 1), then relu or
// tanh-approximated gelu — stays with it; splitMatMulGroup moves the rest
// into an elementwise group that runs as the following kernel.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

namespace {
/// The matmul and the epilogue ops cuBLASLt can apply after it.
struct Epilogue {
  Value end;            ///< last value of the chain (the step's output)
  Value bias;           ///< block argument of shape [N] (leading 1s allowed)
  Value residual;       ///< block argument of the result's shape (C, beta = 1)
  StringRef activation; ///< "", "relu", "gelu"
  SmallVector<Operation *> ops;
};
} // namespace

static Epilogue matchEpilogue(MatMulOp matmul) {
  Epilogue e;
  e.end = matmul.getResult();
  ArrayRef<int64_t> out = shapeOf(e.end);
  while (e.end.hasOneUse() && e.activation.empty()) {
    Operation *user = *e.end.getUsers().begin();
    if (auto add = dyn_cast<BinaryOp>(user); add && add.getKind() == BinaryKind::add) {
      Value other = add.getLhs() == e.end ? add.getRhs() : add.getLhs();
      ArrayRef<int64_t> s = shapeOf(other);
      bool row = !e.bias && isa<BlockArgument>(other) && !s.empty() && s.back() == out.back() &&
                 llvm::all_of(s.drop_back(), [](int64_t d) { return d == 1; }) &&
                 shapeOf(add.getResult()) == out && other.getType() != Type() &&
                 cast<RankedTensorType>(other.getType()).getElementType() ==
                     cast<RankedTensorType>(e.end.getType()).getElementType();
      bool residual = !row && !e.residual && isa<BlockArgument>(other) && shapeOf(other) == out &&
                      shapeOf(add.getResult()) == out &&
                      cast<RankedTensorType>(other.getType()).getElementType() ==
                          cast<RankedTensorType>(e.end.getType()).getElementType();
      if (residual) {
        e.residual = other;
        e.ops.push_back(add);
        e.end = add.getResult();
        continue;
      }
      if (!row)
        break;
      e.bias = other;
      e.ops.push_back(add);
      e.end = add.getResult();
      continue;
    }
    // cuBLASLt's GELU epilogue is the tanh approximation: only gelu_tanh maps
    // onto it; the erf gelu runs in the following elementwise kernel.
    if (auto unary = dyn_cast<UnaryOp>(user);
        unary && (unary.getKind() == UnaryKind::relu || unary.getKind() == UnaryKind::gelu_tanh)) {
      e.activation = unary.getKind() == UnaryKind::relu ? "relu" : "gelu";
      e.ops.push_back(unary);
      e.end = unary.getResult();
      continue;
    }
    break;
  }
  return e;
}

LogicalResult cuda::splitMatMulGroup(FusionGroupOp group) {
  Block &body = group.getBody().front();
  MatMulOp matmul;
  for (Operation &op : body.without_terminator())
    if (auto m = dyn_cast<MatMulOp>(op)) {
      if (matmul)
        return group.emitError("cuda: a contraction group with more than one matmul");
      matmul = m;
    }
  if (!matmul)
    return success();
  if (!isa<BlockArgument>(matmul.getLhs()) || !isa<BlockArgument>(matmul.getRhs()))
    return matmul.emitError("cuda: matmul with fused producers is not supported (cuBLASLt reads "
                            "its operands from memory)");
  Epilogue e = matchEpilogue(matmul);
  llvm::SmallPtrSet<Operation *, 8> chain(e.ops.begin(), e.ops.end());
  chain.insert(matmul);
  auto yield = cast<YieldOp>(body.getTerminator());
  bool rest = llvm::any_of(body.without_terminator(), [&](Operation &op) { return !chain.count(&op); });
  for (Value v : yield.getValues())
    if (v != e.end && v.getDefiningOp() && chain.count(v.getDefiningOp()))
      return group.emitError("cuda: a matmul group may not yield a value in the middle of its "
                             "cuBLASLt epilogue");
  if (!rest && yield.getValues().size() == 1 && yield.getValues()[0] == e.end)
    return success(); // already a gemm group

  OpBuilder b(group);
  // 1. The gemm group: matmul and its cuBLASLt epilogue.
  SmallVector<Value> gemmInputs;
  IRMapping toOuter; // body value -> outer value, for block args
  for (BlockArgument arg : body.getArguments())
    toOuter.map(arg, group.getInputs()[arg.getArgNumber()]);
  SmallVector<BlockArgument> gemmArgs{cast<BlockArgument>(matmul.getLhs()),
                                      cast<BlockArgument>(matmul.getRhs())};
  if (e.bias)
    gemmArgs.push_back(cast<BlockArgument>(e.bias));
  if (e.residual)
    gemmArgs.push_back(cast<BlockArgument>(e.residual));
  for (BlockArgument a : gemmArgs)
    gemmInputs.push_back(toOuter.lookup(a));
  auto gemm = b.create<FusionGroupOp>(group.getLoc(), TypeRange{e.end.getType()}, gemmInputs,
                                      FusionKind::contraction);
  {
    OpBuilder gb = OpBuilder::atBlockEnd(&gemm.getBody().front());
    IRMapping map;
    for (auto [i, a] : llvm::enumerate(gemmArgs))
      map.map(a, gemm.getBody().front().getArgument(i));
    gb.clone(*matmul, map);
    for (Operation *op : e.ops)
      gb.clone(*op, map);
    gb.create<YieldOp>(group.getLoc(), ValueRange{map.lookup(e.end)});
  }
  // 2. The rest: an elementwise group reading the gemm's result.
  SmallVector<Value> restYields;
  for (Value v : yield.getValues())
    if (v != e.end)
      restYields.push_back(v);
  SmallVector<Value> replacements;
  if (!restYields.empty()) {
    SmallVector<Value> inputs{gemm.getResult(0)};
    SmallVector<BlockArgument> restArgs;
    for (BlockArgument arg : body.getArguments())
      if (llvm::any_of(arg.getUsers(), [&](Operation *u) { return !chain.count(u); })) {
        restArgs.push_back(arg);
        inputs.push_back(toOuter.lookup(arg));
      }
    SmallVector<Type> types;
    for (Value v : restYields)
      types.push_back(v.getType());
    auto restGroup = b.create<FusionGroupOp>(group.getLoc(), types, inputs, FusionKind::elementwise);
    OpBuilder rb = OpBuilder::atBlockEnd(&restGroup.getBody().front());
    IRMapping map;
    map.map(e.end, restGroup.getBody().front().getArgument(0));
    for (auto [i, a] : llvm::enumerate(restArgs))
      map.map(a, restGroup.getBody().front().getArgument(i + 1));
    for (Operation &op : body.without_terminator())
      if (!chain.count(&op))
        rb.clone(op, map);
    SmallVector<Value> mapped;
    for (Value v : restYields)
      mapped.push_back(map.lookupOrDefault(v));
    rb.create<YieldOp>(group.getLoc(), mapped);
    unsigned next = 0;
    for (Value v : yield.getValues())
      replacements.push_back(v == e.end ? gemm.getResult(0) : restGroup.getResult(next++));
  } else {
    for (Value v : yield.getValues())
      replacements.push_back(v == e.end ? gemm.getResult(0) : Value());
  }
  group.replaceAllUsesWith(replacements);
  group.erase();
  return success();
}

/// The dims of `v` as C expressions (equal strings: provably equal sizes).
static Dims dimsC(Value v, const DynamicDims &sizes) { return sizes.dimsC(v); }

LogicalResult cuda::emitGemm(FusionGroupOp group, MatMulOp matmul, EmitContext &ctx) {
  Type t = cast<RankedTensorType>(matmul.getType()).getElementType();
  if (!(t.isF32() || t.isF16() || t.isBF16()))
    return matmul.emitError("cuda: matmul on ") << t << " is not supported (cuBLASLt path: f32, f16, bf16)";
  Epilogue e = matchEpilogue(matmul);
  const DynamicDims &sizes = *ctx.sizes;
  Value a = matmul.getLhs(), b = matmul.getRhs(), d = matmul.getResult();
  int64_t ra = shapeOf(a).size(), rb = shapeOf(b).size(), rd = shapeOf(d).size();
  Size m = ra == 1 ? Size::of(1) : sizes.size(a, ra - 2), k = sizes.size(a, ra - 1);
  Size n = rb == 1 ? Size::of(1) : sizes.size(b, rb - 1);
  // numpy matmul: the result's leading dims (before its matrix dims) are the batch.
  Size batch = sizes.product(d, 0, rd - (ra > 1) - (rb > 1));
  // Elements between batches of an operand: its matrix size, or 0 when it
  // is not batched; partially broadcast batch dims have no single stride.
  auto batchStride = [&](Value v, int64_t rank, const Size &matrix) -> std::optional<Size> {
    Size count = sizes.product(v, 0, std::max<int64_t>(rank - 2, 0));
    if (count.isStatic() && count.staticValue() == 1)
      return batch.isStatic() && batch.staticValue() == 1 ? matrix : Size::of(0);
    if (count.c() == batch.c())
      return matrix;
    return std::nullopt;
  };
  auto sa = batchStride(a, ra, m * k), sb = batchStride(b, rb, k * n);
  if (!sa || !sb)
    return matmul.emitError("cuda: matmul with partially broadcast batch dims is not supported");
  if (e.residual && dimsC(e.residual, sizes) != dimsC(e.end, sizes))
    return matmul.emitError("cuda: the residual added to this matmul is not provably of the "
                            "result's shape (cuBLASLt reads it as C)");
  std::string epilogue = e.bias ? (e.activation.empty() ? "bias" : ("bias_" + e.activation.str()))
                                : (e.activation.empty() ? "none" : e.activation.str());

  auto yield = cast<YieldOp>(group.getBody().front().getTerminator());
  if (yield.getValues().size() != 1 || yield.getValues()[0] != e.end)
    return group.emitError("cuda: matmul group was not split before emission");
  auto outer = [&](Value v) { return group.getInputs()[cast<BlockArgument>(v).getArgNumber()]; };
  Builder bld(group.getContext());
  ArtifactStep step;
  step.name = "cuda.gemm";
  step.inputs = {outer(matmul.getLhs()), outer(matmul.getRhs()), e.bias ? outer(e.bias) : Value(),
                 e.residual ? outer(e.residual) : Value()};
  step.outputs = {group.getResult(0)};
  auto i = [&](StringRef name, int64_t v) { step.attrs.push_back(bld.getNamedAttr(name, bld.getI64IntegerAttr(v))); };
  // Fields in dsx_size_op order (ds_artifact_format.h); a dynamic one has a
  // placeholder here and its size program in "dynamic_fields".
  const std::pair<StringRef, Size> fields[] = {{"m", m},           {"n", n},
                                               {"k", k},           {"batch", batch},
                                               {"stride_a", *sa},  {"stride_b", *sb},
                                               {"stride_d", m * n}};
  SmallVector<int64_t> dynamicFields;
  for (auto [index, field] : llvm::enumerate(fields)) {
    i(field.first, field.second.isStatic() ? field.second.staticValue() : 1);
    if (!field.second.isStatic())
      appendSizeEntry(dynamicFields, {(int64_t)index}, field.second);
    if (index == 3)
      i("trans_a", 0), i("trans_b", 0);
  }
  if (!dynamicFields.empty())
    step.attrs.push_back(bld.getNamedAttr("dynamic_fields", bld.getDenseI64ArrayAttr(dynamicFields)));
  step.attrs.push_back(bld.getNamedAttr("alpha", bld.getF64FloatAttr(1.0)));
  step.attrs.push_back(bld.getNamedAttr("beta", bld.getF64FloatAttr(e.residual ? 1.0 : 0.0)));
  step.attrs.push_back(bld.getNamedAttr("epilogue", bld.getStringAttr(epilogue)));
  ctx.steps.push_back(std::move(step));
  return success();
}
