//===- Autodiff.cpp - gradient of @main's loss w.r.t. its parameters ------===//
#include "GradientRules.h"
#include "Parameters.h"

#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::ds {
#define GEN_PASS_DEF_AUTODIFFPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::autodiff;

namespace {
bool isFloatTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

struct AutodiffPass : ds::impl::AutodiffPassBase<AutodiffPass> {
  using AutodiffPassBase::AutodiffPassBase;

  void runOnOperation() override {
    auto main = getOperation().lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal() || !main.getBody().hasOneBlock()) {
      getOperation().emitError("ds-autodiff: no func.func @main with one block");
      return signalPassFailure();
    }
    std::optional<unsigned> lossIndex =
        lossFunction.empty() ? findLoss(main) : appendStandardLoss(main);
    if (!lossIndex)
      return signalPassFailure();
    // Parameters: the arguments ds-promote-parameters marked, or the
    // constants promoted here.
    Block &body = main.getBody().front();
    llvm::SmallVector<Value> paramArgs;
    llvm::SmallVector<std::string> names;
    markedParameters(main, paramArgs, names);
    if (paramArgs.empty() &&
        failed(promoteParameters(main, parameters, paramArgs, names, "ds-autodiff")))
      return signalPassFailure();

    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value loss = ret.getOperand(*lossIndex);
    llvm::DenseMap<Value, Value> grads;
    if (failed(differentiate(body, loss, paramArgs, grads)))
      return signalPassFailure();

    // loss, then each parameter's gradient (zeros where the loss does not
    // depend on it).
    OpBuilder builder(ret);
    llvm::SmallVector<Value> results{loss};
    llvm::SmallVector<Attribute> resultNames{main.getResultAttr(*lossIndex, "ds.name")};
    if (!resultNames[0])
      resultNames[0] = builder.getStringAttr(DSX_TRAIN_LOSS);
    for (auto [arg, name] : llvm::zip(paramArgs, names)) {
      Value grad = grads.lookup(arg);
      if (!grad) {
        GradBuilder g(builder, arg.getLoc());
        grad = g.zerosLike(arg);
      }
      results.push_back(grad);
      resultNames.push_back(builder.getStringAttr(name + ".grad"));
    }
    builder.create<func::ReturnOp>(ret.getLoc(), results);
    ret.erase();
    llvm::SmallVector<Type> resultTypes;
    for (Value v : results)
      resultTypes.push_back(v.getType());
    main.setType(builder.getFunctionType(body.getArgumentTypes(), resultTypes));
    llvm::SmallVector<DictionaryAttr> resultAttrs;
    for (Attribute name : resultNames)
      resultAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr("ds.name", name)));
    main.setAllResultAttrs(resultAttrs);
  }

  /// Appends `lossFunction` of the model's output to @main's results; the
  /// index of the new result.
  std::optional<unsigned> appendStandardLoss(func::FuncOp main) {
    if (lossFunction != "mse" && lossFunction != "cross-entropy") {
      main.emitError("ds-autodiff: loss-function must be mse or cross-entropy, not '")
          << lossFunction << "'";
      return std::nullopt;
    }
    std::optional<unsigned> output;
    for (unsigned i = 0; i < main.getNumResults(); ++i) {
      auto name = main.getResultAttrOfType<StringAttr>(i, "ds.name");
      if (loss.empty() ? main.getNumResults() == 1 : name && name.getValue() == loss)
        output = i;
    }
    if (!output) {
      if (loss.empty())
        main.emitError("ds-autodiff: name the output the loss compares (loss=...): @main has ")
            << main.getNumResults() << " outputs";
      else
        main.emitError("ds-autodiff: @main has no output named '") << loss << "'";
      return std::nullopt;
    }
    auto type = dyn_cast<RankedTensorType>(main.getResultTypes()[*output]);
    if (!type || !type.hasStaticShape() || !isa<FloatType>(type.getElementType()) ||
        (lossFunction == "cross-entropy" && type.getRank() < 1)) {
      main.emitError("ds-autodiff: ")
          << lossFunction << " needs a float output of static shape"
          << (lossFunction == "cross-entropy" ? " with a class dim" : "") << ", not "
          << main.getResultTypes()[*output];
      return std::nullopt;
    }
    Block &body = main.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    GradBuilder g(b, loc);
    Value y = ret.getOperand(*output);
    llvm::SmallVector<int64_t> all;
    for (int64_t i = 0; i < type.getRank(); ++i)
      all.push_back(i);
    auto addInput = [&](Type t, StringRef name) {
      unsigned index = main.getNumArguments();
      main.insertArgument(index, t,
                          b.getDictionaryAttr(b.getNamedAttr("ds.name", b.getStringAttr(name))),
                          loc);
      return body.getArgument(index);
    };
    Value value;
    if (lossFunction == "mse") {
      Value diff = g.binary(BinaryKind::sub, y, addInput(type, "target"));
      value = b.create<ReduceOp>(loc, ReduceKind::mean, g.binary(BinaryKind::mul, diff, diff),
                                 all, false);
    } else {
      ArrayRef<int64_t> shape = type.getShape();
      int64_t classes = shape.back(), rows = type.getNumElements() / std::max<int64_t>(1, classes);
      Value labels = addInput(RankedTensorType::get(shape.drop_back(), b.getI64Type()), "labels");
      Value logp = b.create<SoftmaxOp>(loc, y, b.getI64IntegerAttr(type.getRank() - 1),
                                       b.getUnitAttr());
      llvm::SmallVector<int64_t> column(shape.drop_back());
      column.push_back(1);
      llvm::SmallVector<int64_t> ids;
      for (int64_t c = 0; c < classes; ++c)
        ids.push_back(c);
      auto idsType = RankedTensorType::get({classes}, b.getI64Type());
      Value classIds = b.create<ConstantOp>(loc, DenseElementsAttr::get(idsType, ArrayRef(ids)));
      Value chosen = b.create<CompareOp>(loc, CompareKind::eq, g.reshape(labels, column), classIds);
      Value picked = b.create<SelectOp>(loc, chosen, logp, g.scalar(0.0, logp));
      Value total = b.create<ReduceOp>(loc, ReduceKind::sum, picked, all, false);
      value = g.binary(BinaryKind::div, g.unary(UnaryKind::neg, total),
                       g.scalar((double)rows, total));
    }
    llvm::SmallVector<Value> results(ret.getOperands());
    results.push_back(value);
    b.create<func::ReturnOp>(loc, results);
    ret.erase();
    llvm::SmallVector<Type> types(main.getResultTypes());
    types.push_back(value.getType());
    main.setType(b.getFunctionType(body.getArgumentTypes(), types));
    unsigned index = main.getNumResults() - 1;
    main.setResultAttr(index, "ds.name", b.getStringAttr(DSX_TRAIN_LOSS));
    return index;
  }

  std::optional<unsigned> findLoss(func::FuncOp main) {
    std::optional<unsigned> found;
    unsigned candidates = 0;
    for (unsigned i = 0; i < main.getNumResults(); ++i) {
      auto name = main.getResultAttrOfType<StringAttr>(i, "ds.name");
      auto type = dyn_cast<RankedTensorType>(main.getResultTypes()[i]);
      bool scalar = type && type.hasStaticShape() && type.getNumElements() == 1 &&
                    isa<FloatType>(type.getElementType());
      if (!loss.empty()) {
        if (name && name.getValue() == loss) {
          if (!scalar) {
            main.emitError("ds-autodiff: the loss '")
                << loss << "' must be one float value, not " << main.getResultTypes()[i];
            return std::nullopt;
          }
          return i;
        }
        continue;
      }
      if (scalar) {
        found = i;
        ++candidates;
      }
    }
    if (!loss.empty()) {
      main.emitError("ds-autodiff: @main has no output named '") << loss << "'";
      return std::nullopt;
    }
    if (candidates != 1) {
      main.emitError("ds-autodiff: name the loss: @main has ")
          << candidates << " one-element float outputs";
      return std::nullopt;
    }
    return found;
  }

  /// The `loss_scale` input (f32 scalar, default 1).
  Value addLossScale(Block &body, Value loss) {
    auto main = cast<func::FuncOp>(body.getParentOp());
    Type element = cast<RankedTensorType>(loss.getType()).getElementType();
    auto scalar = RankedTensorType::get({}, element);
    OpBuilder b(&getContext());
    NamedAttrList attrs;
    attrs.set("ds.name", b.getStringAttr(DSX_TRAIN_LOSS_SCALE));
    attrs.set("ds.default",
              DenseElementsAttr::get(scalar, FloatAttr::get(element, 1.0).getValue()));
    unsigned index = main.getNumArguments();
    main.insertArgument(index, scalar, attrs.getDictionary(&getContext()), loss.getLoc());
    return body.getArgument(index);
  }

  LogicalResult differentiate(Block &body, Value loss, ArrayRef<Value> params,
                              llvm::DenseMap<Value, Value> &grads) {
    // Values that depend on a parameter (only they need gradients).
    llvm::DenseSet<Value> active(params.begin(), params.end());
    // A fake quantization passes activity through its quantized middle;
    // any other use of quantized values on the way is refused, since it
    // would cut the gradient silently.
    llvm::DenseSet<Value> quantized;
    for (Operation &op : body.without_terminator()) {
      if (auto q = dyn_cast<QuantizeOp>(op);
          q && (active.contains(q.getInput()) || active.contains(q.getScale()))) {
        quantized.insert(q.getResult());
        continue;
      }
      bool fromActive = llvm::any_of(op.getOperands(), [&](Value v) { return active.contains(v); });
      bool fromQuantized = llvm::any_of(op.getOpOperands(), [&](OpOperand &use) {
        return quantized.contains(use.get()) && isDifferentiableUse(use);
      });
      if (fromQuantized && isa<DequantizeOp>(op)) {
        if (!matchFakeQuant(&op)) {
          Type element = cast<RankedTensorType>(op.getOperand(0).getType()).getElementType();
          auto floatType = dyn_cast<FloatType>(element);
          if (!isa<IntegerType>(element) && !(floatType && floatType.getWidth() == 8))
            return op.emitError("ds-autodiff: no gradient for fake quantization to ")
                   << element << " (integer and float8 types only)";
          if (floatType)
            return op.emitError("ds-autodiff: no gradient through ops between ds.quantize and "
                                "ds.dequantize to ")
                   << element << " (float8 fake quantization is the pair alone)";
          return op.emitError("ds-autodiff: no gradient through the integers between "
                              "ds.quantize and ds.dequantize (only clamps by constants pass)");
        }
        active.insert(op.getResult(0));
        continue;
      }
      for (Value result : op.getResults()) {
        if (!isFloatTensor(result.getType())) {
          if (fromQuantized)
            quantized.insert(result);
          continue;
        }
        if (fromQuantized)
          return op.emitError("ds-autodiff: no gradient through quantized values (this op "
                              "reads the result of a ds.quantize a parameter flows into)");
        if (fromActive)
          active.insert(result);
      }
    }
    if (!active.contains(loss))
      return body.getParentOp()->emitError(
          "ds-autodiff: the loss does not depend on any parameter");

    OpBuilder builder(body.getTerminator());
    {
      GradBuilder g(builder, loss.getLoc());
      grads[loss] = g.splat(1.0, loss);
      if (scaleLoss) // d(loss · s) / d(loss) = s
        grads[loss] = g.binary(BinaryKind::mul, grads[loss], addLossScale(body, loss));
    }
    llvm::SmallVector<Operation *> forward;
    for (Operation &op : body.without_terminator())
      forward.push_back(&op);
    for (Operation *op : llvm::reverse(forward)) {
      llvm::SmallVector<Value> resultGrads;
      bool any = false;
      for (Value result : op->getResults()) {
        resultGrads.push_back(grads.lookup(result));
        any |= (bool)resultGrads.back();
      }
      if (!any)
        continue;
      if (std::optional<FakeQuant> fq = matchFakeQuant(op)) {
        Value input = fq->quantize.getInput(), scale = fq->quantize.getScale();
        bool needInput = active.contains(input), needScale = active.contains(scale);
        if (needInput || needScale) {
          GradBuilder g(builder, op->getLoc());
          Value dx, dscale;
          std::string why;
          if (failed(fakeQuantGrad(*fq, resultGrads[0], needInput, needScale, lsqGradScale, dx,
                                   dscale, g, why)))
            return op->emitError("ds-autodiff: ") << why;
          for (auto [value, grad] : {std::pair(input, dx), std::pair(scale, dscale)})
            if (grad) {
              Value &sum = grads[value];
              sum = sum ? g.binary(BinaryKind::add, sum, grad) : grad;
            }
          continue;
        }
      }
      llvm::SmallVector<bool> needed;
      for (Value operand : op->getOperands())
        needed.push_back(active.contains(operand));
      if (llvm::none_of(needed, [](bool n) { return n; }))
        continue;
      for (Value v : op->getOperands())
        if (active.contains(v) && !cast<RankedTensorType>(v.getType()).hasStaticShape())
          return op->emitError("ds-autodiff: dynamic dims on the path to the loss (bind them "
                               "with --ds-input-shape)");
      GradBuilder g(builder, op->getLoc());
      g.setFusedAttention(fusedAttentionGrad);
      llvm::SmallVector<Value> operandGrads;
      std::string why;
      if (failed(backward(op, resultGrads, needed, operandGrads, g, why)))
        return op->emitError("ds-autodiff: ") << why << " (this op lies between a parameter "
                                                        "and the loss)";
      for (auto [operand, grad, need] : llvm::zip(op->getOperands(), operandGrads, needed)) {
        if (!grad || !need)
          continue;
        Value &sum = grads[operand];
        sum = sum ? g.binary(BinaryKind::add, sum, grad) : grad;
      }
    }
    return success();
  }
};
} // namespace
