//===- ElementwiseImporters.cpp - ONNX elementwise ops to ds ---------------===//
#include "NodeImporter.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
/// Import function for an op that is one ds.unary kind; `alpha` / `beta` name
/// the ONNX attributes (with defaults) that parametrise it.
ImportFn unaryFn(UnaryKind kind, StringRef alphaName = {}, double alphaDefault = 0,
                 StringRef betaName = {}, double betaDefault = 0) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "X");
    if (failed(x))
      return failure();
    FloatAttr alpha, beta;
    if (!alphaName.empty())
      alpha = n.builder.getF64FloatAttr(n.attrFloat(alphaName, alphaDefault));
    if (!betaName.empty())
      beta = n.builder.getF64FloatAttr(n.attrFloat(betaName, betaDefault));
    Value y = n.create<UnaryOp>(kind, *x, alpha, beta);
    if (!y)
      return failure();
    n.setOutputs({y});
    return success();
  };
}

ImportFn binaryFn(BinaryKind kind) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto a = n.required(0, "A"), b = n.required(1, "B");
    if (failed(a) || failed(b))
      return failure();
    Value y = n.binary(kind, *a, *b);
    if (!y)
      return failure();
    n.setOutputs({y});
    return success();
  };
}

ImportFn compareFn(CompareKind kind) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto a = n.required(0, "A"), b = n.required(1, "B");
    if (failed(a) || failed(b))
      return failure();
    Value y = n.create<CompareOp>(kind, *a, *b);
    if (!y)
      return failure();
    n.setOutputs({y});
    return success();
  };
}

/// Min / Max / Sum / Mean: a left fold of the binary op over all inputs.
ImportFn variadicFn(BinaryKind kind, bool mean) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto first = n.required(0, "data_0");
    if (failed(first))
      return failure();
    Value acc = *first;
    for (size_t i = 1; i < n.numInputs() && acc; ++i)
      if (Value next = n.input(i))
        acc = n.binary(kind, acc, next);
    if (acc && mean)
      acc = n.binary(BinaryKind::div, acc,
                     n.constScalar(n.typeOf(acc).getElementType(), (double)n.numInputs()));
    if (!acc)
      return failure();
    n.setOutputs({acc});
    return success();
  };
}

LogicalResult importClip(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  Type element = n.typeOf(*x).getElementType();
  Value lo, hi;
  if (n.since < 11) {
    if (n.hasAttr("min"))
      lo = n.constScalar(element, n.attrFloat("min", 0));
    if (n.hasAttr("max"))
      hi = n.constScalar(element, n.attrFloat("max", 0));
  } else {
    lo = n.input(1);
    hi = n.input(2);
  }
  Value y = *x;
  if (lo)
    y = n.binary(BinaryKind::max, y, lo);
  if (y && hi)
    y = n.binary(BinaryKind::min, y, hi);
  if (!y)
    return failure();
  n.setOutputs({y});
  return success();
}

LogicalResult importGelu(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  std::string approx = n.attrString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return n.error() << "unknown approximate mode '" << approx << "'";
  Value y = n.unary(approx == "tanh" ? UnaryKind::gelu_tanh : UnaryKind::gelu, *x);
  if (!y)
    return failure();
  n.setOutputs({y});
  return success();
}

LogicalResult importIsInf(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  bool pos = n.attrInt("detect_positive", 1), neg = n.attrInt("detect_negative", 1);
  Value y;
  if (pos && neg)
    y = n.unary(UnaryKind::is_inf, *x);
  else if (pos)
    y = n.unary(UnaryKind::is_pos_inf, *x);
  else if (neg)
    y = n.unary(UnaryKind::is_neg_inf, *x);
  else // detects nothing: all false
    y = n.create<CompareOp>(CompareKind::lt, *x, *x); // false everywhere, NaN too
  if (!y)
    return failure();
  n.setOutputs({y});
  return success();
}

LogicalResult importWhere(NodeImporter &n) {
  auto c = n.required(0, "condition"), a = n.required(1, "X"), b = n.required(2, "Y");
  if (failed(c) || failed(a) || failed(b))
    return failure();
  Value y = n.create<SelectOp>(*c, *a, *b);
  if (!y)
    return failure();
  n.setOutputs({y});
  return success();
}

LogicalResult importCast(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  Type to;
  if (n.node.op_type() == "CastLike") {
    auto like = n.required(1, "target_type");
    if (failed(like))
      return failure();
    to = n.typeOf(*like).getElementType();
  } else {
    int64_t onnxType = n.attrInt("to", 0);
    to = convertElementType(onnxType, n.builder.getContext());
    if (!to)
      return n.error() << "cast to unsupported type " << onnxTypeName(onnxType);
  }
  if (!isa<FloatType>(to) && !to.isIntOrIndex())
    return n.error() << "cast to unsupported type " << to;
  Value y = n.typeOf(*x).getElementType() == to
                ? *x
                : n.createTyped<CastOp>(n.typeOf(*x).clone(to), *x,
                                        n.attrInt("saturate", 1) != 0);
  if (!y)
    return failure();
  n.setOutputs({y});
  return success();
}

LogicalResult importMod(NodeImporter &n) {
  return binaryFn(n.attrInt("fmod", 0) ? BinaryKind::fmod : BinaryKind::mod)(n);
}

LogicalResult importBitShift(NodeImporter &n) {
  std::string dir = n.attrString("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    return n.error() << "direction must be LEFT or RIGHT, got '" << dir << "'";
  return binaryFn(dir == "LEFT" ? BinaryKind::shift_left : BinaryKind::shift_right)(n);
}

/// PRelu: x < 0 ? slope * x : x.
LogicalResult importPRelu(NodeImporter &n) {
  auto x = n.required(0, "X"), slope = n.required(1, "slope");
  if (failed(x) || failed(slope))
    return failure();
  Value zero = n.constScalar(n.typeOf(*x).getElementType(), 0);
  Value isNeg = n.create<CompareOp>(CompareKind::lt, *x, zero);
  Value scaled = n.binary(BinaryKind::mul, *x, *slope);
  Value y = isNeg && scaled ? n.create<SelectOp>(isNeg, scaled, *x) : Value();
  if (!y)
    return failure();
  n.setOutputs({y});
  return success();
}

/// Swish: x * sigmoid(alpha * x).
LogicalResult importSwish(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  double alpha = n.attrFloat("alpha", 1.0);
  Value scaled = alpha == 1.0 ? *x
                              : n.binary(BinaryKind::mul, *x,
                                         n.constScalar(n.typeOf(*x).getElementType(), alpha));
  Value s = scaled ? n.unary(UnaryKind::sigmoid, scaled) : Value();
  Value y = s ? n.binary(BinaryKind::mul, *x, s) : Value();
  if (!y)
    return failure();
  n.setOutputs({y});
  return success();
}

LogicalResult importIdentity(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  // PyTorch's exporter writes parameters with equal initial values (every
  // LayerNorm's ones and zeros) as one initializer plus Identity nodes named
  // after the others. A float initializer's copy gets its own constant,
  // named after the output, so that training gives each parameter its own
  // value; CSE merges the copies again when nothing trains.
  auto constant = x->getDefiningOp<ConstantOp>();
  auto name = constant ? dyn_cast<NameLoc>(constant->getLoc()) : NameLoc();
  if (name && isa<FloatType>(n.typeOf(*x).getElementType()) && n.outputUsed(0)) {
    Location loc = NameLoc::get(n.builder.getStringAttr(n.node.output(0)), name.getChildLoc());
    n.setOutputs({n.builder.create<ConstantOp>(loc, constant.getValue())});
    return success();
  }
  n.setOutputs({*x});
  return success();
}
} // namespace

void onnx_import::registerElementwiseImporters(OpRegistry &r) {
  constexpr int64_t all = kAllVersions;
  struct {
    const char *name;
    UnaryKind kind;
  } plain[] = {
      {"Abs", UnaryKind::abs},       {"Neg", UnaryKind::neg},
      {"Sqrt", UnaryKind::sqrt},     {"Reciprocal", UnaryKind::reciprocal},
      {"Exp", UnaryKind::exp},       {"Log", UnaryKind::log},
      {"Erf", UnaryKind::erf},       {"Tanh", UnaryKind::tanh},
      {"Sigmoid", UnaryKind::sigmoid}, {"Relu", UnaryKind::relu},
      {"HardSwish", UnaryKind::hard_swish}, {"Softplus", UnaryKind::softplus},
      {"Softsign", UnaryKind::softsign}, {"Mish", UnaryKind::mish},
      {"Cos", UnaryKind::cos},       {"Sin", UnaryKind::sin},
      {"Tan", UnaryKind::tan},       {"Acos", UnaryKind::acos},
      {"Asin", UnaryKind::asin},     {"Atan", UnaryKind::atan},
      {"Cosh", UnaryKind::cosh},     {"Sinh", UnaryKind::sinh},
      {"Acosh", UnaryKind::acosh},   {"Asinh", UnaryKind::asinh},
      {"Atanh", UnaryKind::atanh},   {"Floor", UnaryKind::floor},
      {"Ceil", UnaryKind::ceil},     {"Round", UnaryKind::round},
      {"Sign", UnaryKind::sign},     {"Not", UnaryKind::logical_not},
      {"BitwiseNot", UnaryKind::bitwise_not}, {"IsNaN", UnaryKind::is_nan},
  };
  for (auto &entry : plain)
    r.add(entry.name, 1, all, unaryFn(entry.kind));
  r.add("LeakyRelu", 1, all, unaryFn(UnaryKind::leaky_relu, "alpha", 0.01));
  r.add("Elu", 1, all, unaryFn(UnaryKind::elu, "alpha", 1.0));
  r.add("Celu", 1, all, unaryFn(UnaryKind::celu, "alpha", 1.0));
  r.add("Selu", 1, all,
        unaryFn(UnaryKind::selu, "alpha", 1.67326319217681884765625, "gamma",
                1.05070102214813232421875));
  r.add("HardSigmoid", 1, all, unaryFn(UnaryKind::hard_sigmoid, "alpha", 0.2, "beta", 0.5));
  r.add("ThresholdedRelu", 1, all, unaryFn(UnaryKind::thresholded_relu, "alpha", 1.0));
  r.add("Shrink", 1, all, unaryFn(UnaryKind::shrink, "lambd", 0.5, "bias", 0.0));
  r.add("Gelu", 1, all, importGelu);
  r.add("IsInf", 1, all, importIsInf);
  r.add("Clip", 1, all, importClip);
  r.add("PRelu", 1, all, importPRelu);
  r.add("Swish", 1, all, importSwish);

  struct {
    const char *name;
    BinaryKind kind;
  } binaries[] = {
      {"Add", BinaryKind::add}, {"Sub", BinaryKind::sub}, {"Mul", BinaryKind::mul},
      {"Div", BinaryKind::div}, {"Pow", BinaryKind::pow}, {"And", BinaryKind::logical_and},
      {"Or", BinaryKind::logical_or}, {"Xor", BinaryKind::logical_xor},
      {"BitwiseAnd", BinaryKind::bitwise_and}, {"BitwiseOr", BinaryKind::bitwise_or},
      {"BitwiseXor", BinaryKind::bitwise_xor},
  };
  // Add/Sub/Mul/Div before opset 7 broadcast only with `broadcast=1` and an
  // explicit axis; ds handles the numpy-style versions (7 and later).
  for (auto &entry : binaries)
    r.add(entry.name, 7, all, binaryFn(entry.kind));
  r.add("Mod", 1, all, importMod);
  r.add("BitShift", 1, all, importBitShift);
  r.add("Equal", 7, all, compareFn(CompareKind::eq));
  r.add("Less", 7, all, compareFn(CompareKind::lt));
  r.add("LessOrEqual", 1, all, compareFn(CompareKind::le));
  r.add("Greater", 7, all, compareFn(CompareKind::gt));
  r.add("GreaterOrEqual", 1, all, compareFn(CompareKind::ge));
  r.add("Min", 8, all, variadicFn(BinaryKind::min, false));
  r.add("Max", 8, all, variadicFn(BinaryKind::max, false));
  r.add("Sum", 8, all, variadicFn(BinaryKind::add, false));
  r.add("Mean", 8, all, variadicFn(BinaryKind::add, true));
  r.add("Where", 1, all, importWhere);
  r.add("Cast", 6, all, importCast);
  r.add("CastLike", 1, all, importCast);
  r.add("Identity", 1, all, importIdentity);
}
