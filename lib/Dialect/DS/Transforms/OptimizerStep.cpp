//===- OptimizerStep.cpp - gradients -> next parameters and optimizer state ===//
#include "GradientRules.h"

#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::ds {
#define GEN_PASS_DEF_OPTIMIZERSTEPPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::autodiff;

namespace {
struct OptimizerStepPass : ds::impl::OptimizerStepPassBase<OptimizerStepPass> {
  using OptimizerStepPassBase::OptimizerStepPassBase;

  void runOnOperation() override {
    if (optimizer != "sgd" && optimizer != "adamw") {
      getOperation().emitError("ds-optimizer-step: optimizer must be sgd or adamw, not '")
          << optimizer << "'";
      return signalPassFailure();
    }
    auto main = getOperation().lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal()) {
      getOperation().emitError("ds-optimizer-step: no func.func @main");
      return signalPassFailure();
    }
    Block &body = main.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    llvm::StringMap<unsigned> argByName;
    for (unsigned i = 0; i < main.getNumArguments(); ++i)
      if (auto name = main.getArgAttrOfType<StringAttr>(i, "ds.name"))
        argByName[name.getValue()] = i;

    // (result index, parameter argument) for every `<p>.grad`.
    llvm::SmallVector<std::pair<unsigned, unsigned>> pairs;
    for (unsigned i = 0; i < main.getNumResults(); ++i) {
      auto name = main.getResultAttrOfType<StringAttr>(i, "ds.name");
      if (!name || !name.getValue().ends_with(".grad"))
        continue;
      auto it = argByName.find(name.getValue().drop_back(5));
      if (it == argByName.end()) {
        main.emitError("ds-optimizer-step: gradient '")
            << name.getValue() << "' has no parameter input of that name";
        return signalPassFailure();
      }
      pairs.push_back({i, it->second});
    }
    for (auto [resultIndex, argIndex] : pairs) {
      // The update's hyperparameters (β2 = 0.999, ε = 1e-8) do not survive
      // 16-bit arithmetic: the master weights are f32 (precision passes run
      // after this one and leave the parameters f32).
      auto type = cast<RankedTensorType>(body.getArgument(argIndex).getType());
      if (!type.getElementType().isF32()) {
        main.emitError("ds-optimizer-step: parameter '")
            << main.getArgAttrOfType<StringAttr>(argIndex, "ds.name").getValue()
            << "' is " << type.getElementType() << "; the optimizer updates f32 parameters";
        return signalPassFailure();
      }
    }
    if (pairs.empty()) {
      main.emitError("ds-optimizer-step: @main returns no '<parameter>.grad' results (run "
                     "ds-autodiff first)");
      return signalPassFailure();
    }

    OpBuilder b(ret);
    Location loc = ret.getLoc();
    GradBuilder g(b, loc);
    auto scalarType = [&](Value like) {
      return RankedTensorType::get({}, cast<RankedTensorType>(like.getType()).getElementType());
    };
    auto addInput = [&](Type type, StringRef name, Attribute value) {
      unsigned index = main.getNumArguments();
      NamedAttrList attrs;
      attrs.set("ds.name", b.getStringAttr(name));
      attrs.set("ds.default", value);
      main.insertArgument(index, type, attrs.getDictionary(&getContext()), loc);
      return body.getArgument(index);
    };
    auto splat = [&](Type type, double value) -> Attribute {
      auto tensor = cast<RankedTensorType>(type);
      return DenseElementsAttr::get(
          tensor, FloatAttr::get(tensor.getElementType(), value).getValue());
    };
    Value firstParam = body.getArgument(pairs.front().second);
    Value rate =
        addInput(scalarType(firstParam), DSX_TRAIN_LEARNING_RATE, splat(scalarType(firstParam), lr));
    Value step;
    if (optimizer == "adamw")
      step = addInput(scalarType(firstParam), DSX_TRAIN_STEP, splat(scalarType(firstParam), 1.0));

    auto mul = [&](Value l, Value r) { return g.binary(BinaryKind::mul, l, r); };
    auto add = [&](Value l, Value r) { return g.binary(BinaryKind::add, l, r); };
    auto sub = [&](Value l, Value r) { return g.binary(BinaryKind::sub, l, r); };
    auto div = [&](Value l, Value r) { return g.binary(BinaryKind::div, l, r); };

    // Dynamic loss scaling: unscale, and keep everything when a gradient
    // overflowed (`finite`: 1 when every gradient element is finite, else 0).
    Value finite;
    if (auto it = argByName.find(DSX_TRAIN_LOSS_SCALE); it != argByName.end()) {
      Value scale = body.getArgument(it->second);
      Value bad;
      for (auto [resultIndex, argIndex] : pairs) {
        Value grad = div(ret.getOperand(resultIndex), scale);
        ret.setOperand(resultIndex, grad);
        Value nonFinite = g.binary(BinaryKind::logical_or, g.unary(UnaryKind::is_nan, grad),
                                   g.unary(UnaryKind::is_inf, grad));
        auto type = cast<RankedTensorType>(grad.getType());
        Value asFloat = b.create<CastOp>(loc, type, nonFinite, UnitAttr());
        llvm::SmallVector<int64_t> all;
        for (int64_t i = 0; i < type.getRank(); ++i)
          all.push_back(i);
        Value any = all.empty()
                        ? asFloat
                        : b.create<ReduceOp>(loc, ReduceKind::max, asFloat, all, false).getResult();
        bad = bad ? g.binary(BinaryKind::max, bad, any) : any;
      }
      finite = sub(g.scalar(1.0, bad), bad);
    }
    auto keepIfFinite = [&](Value next, Value old) -> Value {
      if (!finite)
        return next;
      Value ok = b.create<CompareOp>(loc, CompareKind::gt, finite, g.scalar(0.5, finite));
      return b.create<SelectOp>(loc, ok, next, old);
    };

    llvm::SmallVector<Value> results{ret.getOperand(0)};
    llvm::SmallVector<Attribute> names{main.getResultAttr(0, "ds.name")};
    for (auto [resultIndex, argIndex] : pairs) {
      Value grad = ret.getOperand(resultIndex);
      Value param = body.getArgument(argIndex);
      std::string name =
          main.getArgAttrOfType<StringAttr>(argIndex, "ds.name").getValue().str();
      Type type = param.getType();
      Value next;
      // A parameter the loss does not depend on (a zero gradient constant)
      // keeps its value and state, as PyTorch skips parameters without a
      // gradient (no weight decay either).
      DenseElementsAttr constantGrad;
      if (matchPattern(grad, m_Constant(&constantGrad)) && constantGrad.isSplat() &&
          constantGrad.getSplatValue<APFloat>().isZero()) {
        results.push_back(param);
        names.push_back(b.getStringAttr(name + DSX_TRAIN_NEXT_SUFFIX));
        continue;
      }
      llvm::SmallVector<std::pair<Value, std::string>> state;
      if (optimizer == "sgd") {
        if (weightDecay != 0.0)
          grad = add(grad, mul(g.scalar(weightDecay, param), param));
        Value update = grad;
        if (momentum != 0.0) {
          Value buffer = addInput(type, name + DSX_TRAIN_MOMENTUM_SUFFIX, splat(type, 0.0));
          update = add(mul(g.scalar(momentum, param), buffer), grad);
          state.push_back({keepIfFinite(update, buffer), name + DSX_TRAIN_MOMENTUM_SUFFIX DSX_TRAIN_NEXT_SUFFIX});
        }
        next = sub(param, mul(rate, update));
      } else {
        Value m = addInput(type, name + DSX_TRAIN_ADAM_M_SUFFIX, splat(type, 0.0));
        Value v = addInput(type, name + DSX_TRAIN_ADAM_V_SUFFIX, splat(type, 0.0));
        Value m2 = add(mul(g.scalar(beta1, param), m), mul(g.scalar(1.0 - beta1, param), grad));
        Value v2 = add(mul(g.scalar(beta2, param), v),
                       mul(g.scalar(1.0 - beta2, param), mul(grad, grad)));
        // Bias corrections 1 - βᵗ from the step input.
        Value c1 = sub(g.scalar(1.0, param), g.binary(BinaryKind::pow, g.scalar(beta1, param), step));
        Value c2 = sub(g.scalar(1.0, param), g.binary(BinaryKind::pow, g.scalar(beta2, param), step));
        Value denom = add(g.unary(UnaryKind::sqrt, div(v2, c2)), g.scalar(epsilon, param));
        Value decayed = param;
        if (weightDecay != 0.0)
          decayed = mul(param, sub(g.scalar(1.0, param), mul(rate, g.scalar(weightDecay, param))));
        next = sub(decayed, mul(rate, div(div(m2, c1), denom)));
        state.push_back({keepIfFinite(m2, m), name + DSX_TRAIN_ADAM_M_SUFFIX DSX_TRAIN_NEXT_SUFFIX});
        state.push_back({keepIfFinite(v2, v), name + DSX_TRAIN_ADAM_V_SUFFIX DSX_TRAIN_NEXT_SUFFIX});
      }
      results.push_back(keepIfFinite(next, param));
      names.push_back(b.getStringAttr(name + DSX_TRAIN_NEXT_SUFFIX));
      for (auto &[value, stateName] : state) {
        results.push_back(value);
        names.push_back(b.getStringAttr(stateName));
      }
    }
    if (finite) {
      results.push_back(finite);
      names.push_back(b.getStringAttr(DSX_TRAIN_GRADS_FINITE));
    }
    b.create<func::ReturnOp>(loc, results);
    ret.erase();
    llvm::SmallVector<Type> types;
    for (Value v : results)
      types.push_back(v.getType());
    main.setType(b.getFunctionType(body.getArgumentTypes(), types));
    llvm::SmallVector<DictionaryAttr> attrs;
    for (Attribute name : names)
      attrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr("ds.name", name ? name : b.getStringAttr(DSX_TRAIN_LOSS))));
    main.setAllResultAttrs(attrs);
  }
};
} // namespace
