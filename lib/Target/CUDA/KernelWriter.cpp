//===- KernelWriter.cpp - element of a group value at coordinates --------===//
#include "Emitters.h"
#include "KernelWriter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

int cuda::float8Kind(Type t) {
  if (isa<Float8E4M3FNType>(t)) return 0;
  if (isa<Float8E5M2Type>(t)) return 1;
  if (isa<Float8E4M3FNUZType>(t)) return 2;
  if (isa<Float8E5M2FNUZType>(t)) return 3;
  return -1;
}

FailureOr<std::string> cuda::storageType(Type t) {
  static const char *float8[] = {"ds_f8e4m3fn", "ds_f8e5m2", "ds_f8e4m3fnuz", "ds_f8e5m2fnuz"};
  if (int kind = float8Kind(t); kind >= 0) return std::string(float8[kind]);
  if (t.isF32()) return std::string("float");
  if (t.isF64()) return std::string("double");
  if (t.isF16()) return std::string("__half");
  if (t.isBF16()) return std::string("__nv_bfloat16");
  if (t.isInteger(1)) return std::string("bool");
  if (auto i = dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 64: return std::string(u ? "unsigned long long" : "long long");
    case 32: return std::string(u ? "unsigned" : "int");
    case 16: return std::string(u ? "unsigned short" : "short");
    case 8: return std::string(u ? "unsigned char" : "signed char");
    // One per byte, wrapped on store (Prelude.cuh).
    case 4: return std::string(u ? "ds_u4" : "ds_i4");
    case 2: return std::string(u ? "ds_u2" : "ds_i2");
    default: return failure();
    }
  }
  return failure();
}

std::string cuda::computeType(Type t) {
  if (t.isF64()) return "double";
  if (isa<FloatType>(t)) return "float";
  if (t.isInteger(1)) return "bool";
  if (t.isUnsignedInteger(64)) return "unsigned long long";
  if (t.isInteger(64)) return "long long";
  if (t.isUnsignedInteger(32)) return "unsigned";
  return "int";
}

std::string cuda::mathFn(StringRef name, Type t) {
  return t.isF64() ? name.str() : name.str() + "f";
}

LogicalResult cuda::checkElementType(Operation *op, Type t) {
  if (succeeded(storageType(t)))
    return success();
  return op->emitError("cuda: '") << op->getName() << "' has element type " << t
                                  << ", which the CUDA backend does not support";
}

static bool isNumber(StringRef s) {
  int64_t unused;
  return !s.getAsInteger(10, unused);
}

Dims cuda::dimsOf(ArrayRef<int64_t> shape) {
  Dims out;
  for (int64_t d : shape)
    out.push_back(std::to_string(d));
  return out;
}

std::string cuda::mulC(StringRef a, StringRef b) {
  int64_t x, y;
  if (!a.getAsInteger(10, x) && !b.getAsInteger(10, y))
    return std::to_string(x * y);
  if (isOne(a))
    return b.str();
  if (isOne(b))
    return a.str();
  return "(" + a.str() + " * " + b.str() + ")";
}

Dims cuda::stridesOf(ArrayRef<std::string> dims) {
  Dims strides(dims.size(), "1");
  for (int i = (int)dims.size() - 2; i >= 0; --i)
    strides[i] = mulC(strides[i + 1], dims[i + 1]);
  return strides;
}

Coords cuda::broadcastCoords(ArrayRef<std::string> operand, ArrayRef<std::string> result,
                             ArrayRef<std::string> coords) {
  Coords out;
  size_t lead = result.size() - operand.size();
  for (size_t d = 0; d < operand.size(); ++d) {
    const std::string &dim = operand[d], &c = coords[lead + d];
    if (isOne(dim))
      out.push_back("0");
    else if (dim == result[lead + d] || isNumber(dim) || c == "0")
      out.push_back(c);
    else
      out.push_back("(" + dim + " == 1 ? 0 : " + c + ")");
  }
  return out;
}

Coords cuda::delinearize(StringRef lin, ArrayRef<std::string> dims) {
  Coords out;
  Dims strides = stridesOf(dims);
  for (size_t d = 0; d < dims.size(); ++d) {
    if (isOne(dims[d])) {
      out.push_back("0");
      continue;
    }
    std::string e = isOne(strides[d]) ? lin.str() : "(" + lin.str() + " / " + strides[d] + ")";
    if (d > 0)
      e = "(" + e + " % " + dims[d] + ")";
    out.push_back(e);
  }
  return out;
}

/// `e` in parentheses unless it is a name, a number or already wrapped.
static std::string parenthesized(const std::string &e) {
  if (e.find(' ') == std::string::npos)
    return e;
  if (e.front() == '(') {
    int depth = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      depth += e[i] == '(' ? 1 : e[i] == ')' ? -1 : 0;
      if (depth == 0)
        return i + 1 == e.size() ? e : "(" + e + ")";
    }
  }
  return "(" + e + ")";
}

std::string cuda::linearize(ArrayRef<std::string> coords, ArrayRef<std::string> dims) {
  Dims strides = stridesOf(dims);
  std::string e;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (isOne(dims[d]) || coords[d] == "0")
      continue;
    if (!e.empty())
      e += " + ";
    e += isOne(strides[d]) ? coords[d] : parenthesized(coords[d]) + " * " + strides[d];
  }
  return e.empty() ? "0" : e;
}

/// The ds.constant behind `v` (directly or through a group input), or null.
static ConstantOp constantBehind(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v))
    if (auto group = dyn_cast<FusionGroupOp>(arg.getOwner()->getParentOp()))
      v = group.getInputs()[arg.getArgNumber()];
  return v.getDefiningOp<ConstantOp>();
}

FailureOr<SmallVector<int64_t>> cuda::constantInts(Value v) {
  ConstantOp constant = constantBehind(v);
  if (!constant)
    return failure();
  auto dense = dyn_cast<DenseIntElementsAttr>(constant.getValue());
  if (!dense)
    return failure();
  SmallVector<int64_t> out;
  for (const APInt &i : dense.getValues<APInt>())
    out.push_back(i.getSExtValue());
  return out;
}

FailureOr<SmallVector<double>> cuda::constantFloats(Value v) {
  ConstantOp constant = constantBehind(v);
  auto dense = constant ? dyn_cast<DenseFPElementsAttr>(constant.getValue()) : nullptr;
  if (!dense)
    return failure();
  SmallVector<double> out;
  for (const APFloat &f : dense.getValues<APFloat>())
    out.push_back(f.convertToDouble());
  return out;
}

static Type elementOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

std::string cuda::literal(double value, Type t) {
  if (isa<FloatType>(t)) {
    if (std::isnan(value)) return "__int_as_float(0x7fc00000)";
    if (std::isinf(value)) return value > 0 ? "DS_INF" : "(-DS_INF)";
    std::string s;
    llvm::raw_string_ostream(s) << llvm::format(t.isF64() ? "%.17g" : "%.9g", value);
    if (s.find_first_of(".e") == std::string::npos)
      s += ".0";
    return t.isF64() ? s : s + "f";
  }
  if (t.isInteger(1)) return value != 0 ? "true" : "false";
  return std::to_string((long long)value) + (t.isInteger(64) ? "LL" : "");
}

/// A C literal for an integer constant, exact for every 64-bit value.
static std::string intLiteral(const APInt &value, Type t) {
  if (t.isInteger(1)) return value.isZero() ? "false" : "true";
  if (t.isUnsignedInteger()) return std::to_string(value.getZExtValue()) + "ULL";
  int64_t v = value.getSExtValue();
  if (v == std::numeric_limits<int64_t>::min()) return "(-9223372036854775807LL - 1)";
  return std::to_string(v) + (t.isInteger(64) ? "LL" : "");
}

KernelWriter::KernelWriter(FusionGroupOp group, std::string name, const DynamicDims &sizes)
    : group(group), name(std::move(name)), sizes(sizes) {}

llvm::raw_ostream &KernelWriter::line() {
  for (int i = 0; i < depth; ++i)
    os << "  ";
  return os;
}

void KernelWriter::open(const llvm::Twine &header) {
  line() << header << " {\n";
  ++depth;
  memo.emplace_back();
}

void KernelWriter::close(StringRef after) {
  memo.pop_back();
  --depth;
  line() << "}" << after << "\n";
}

LogicalResult KernelWriter::declareFlatLoader(Value v, StringRef name) {
  open("auto " + name + " = [&](long long e)");
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    line() << "return ds_load(" << inputParam(arg) << ", e);\n";
  } else {
    FailureOr<std::string> element = at(v, delinearize("e", dims(v)));
    if (failed(element))
      return failure();
    line() << "return " << *element << ";\n";
  }
  close(";");
  return success();
}

std::string KernelWriter::fresh(StringRef prefix) { return (prefix + Twine(counter++)).str(); }

std::string KernelWriter::wrappedIndex(StringRef index, StringRef dim) {
  std::string name = fresh("g");
  line() << "const long long " << name << " = " << index << " < 0 ? " << index << " + " << dim
         << " : " << index << ";\n";
  return name;
}

std::string KernelWriter::inputParam(BlockArgument arg) {
  unsigned index = arg.getArgNumber();
  auto it = inputs.find(index);
  if (it != inputs.end())
    return it->second.name;
  KernelParam p{group.getInputs()[index], "in" + std::to_string(index),
                *storageType(elementOf(arg)), false};
  inputs[index] = p;
  return p.name;
}

std::string KernelWriter::outputParam(unsigned index) {
  auto it = outputs.find(index);
  if (it != outputs.end())
    return it->second.name;
  KernelParam p{group.getResult(index), "out" + std::to_string(index),
                *storageType(elementOf(group.getResult(index))), true};
  outputs[index] = p;
  return p.name;
}

std::string KernelWriter::finish(StringRef launchBounds) const {
  std::string s;
  llvm::raw_string_ostream out(s);
  out << "extern \"C\" __global__ void " << launchBounds << (launchBounds.empty() ? "" : " ") << name
      << "(";
  bool first = true;
  for (const auto &map : {&inputs, &outputs})
    for (const auto &[index, p] : *map) {
      out << (first ? "" : ", ") << (p.output ? "" : "const ") << p.type << " *__restrict__ "
          << p.name;
      first = false;
    }
  for (unsigned k = 0; k < sizes.numSymbols(); ++k)
    out << (first && k == 0 ? "" : ", ") << "const long long s" << k;
  out << ") {\n" << body << "}\n";
  return s;
}

ArtifactStep KernelWriter::launchStep(std::array<Size, 3> grid, std::array<int64_t, 3> block,
                                      int64_t sharedBytes) const {
  Builder b(const_cast<FusionGroupOp &>(group).getContext());
  ArtifactStep step;
  step.name = "cuda.launch";
  for (const auto &[index, p] : inputs)
    step.inputs.push_back(p.outer);
  for (const auto &[index, p] : outputs)
    step.outputs.push_back(p.outer);
  std::array<int64_t, 3> staticGrid;
  SmallVector<int64_t> dynamicGrid;
  for (auto [axis, g] : llvm::enumerate(grid)) {
    staticGrid[axis] = g.isStatic() ? g.staticValue() : 1; // the runtime evaluates the rest
    if (!g.isStatic())
      appendSizeEntry(dynamicGrid, {(int64_t)axis}, g);
  }
  step.attrs.push_back(b.getNamedAttr("kernel", b.getStringAttr(name)));
  step.attrs.push_back(b.getNamedAttr("grid", b.getDenseI64ArrayAttr(staticGrid)));
  step.attrs.push_back(b.getNamedAttr("block", b.getDenseI64ArrayAttr(block)));
  step.attrs.push_back(b.getNamedAttr("shared_bytes", b.getI64IntegerAttr(sharedBytes)));
  if (!dynamicGrid.empty())
    step.attrs.push_back(b.getNamedAttr("dynamic_fields", b.getDenseI64ArrayAttr(dynamicGrid)));
  return step;
}

FailureOr<std::string> KernelWriter::at(Value v, ArrayRef<std::string> coords) {
  auto it = overrides.find(v.getAsOpaquePointer());
  if (it != overrides.end())
    return it->second(coords);
  std::string key = llvm::join(coords, ",");
  auto [idIt, inserted] = coordIds.try_emplace(key, (unsigned)coordIds.size());
  std::pair<void *, unsigned> memoKey{v.getAsOpaquePointer(), idIt->second};
  for (auto scope = memo.rbegin(); scope != memo.rend(); ++scope)
    if (auto found = scope->find(memoKey); found != scope->end())
      return found->second;

  std::string result;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    result = fresh("x");
    line() << computeType(elementOf(v)) << " " << result << " = ds_load(" << inputParam(arg)
           << ", " << linearize(coords, dims(v)) << ");\n";
  } else {
    FailureOr<std::string> computed = compute(v.getDefiningOp(), v, coords);
    if (failed(computed))
      return failure();
    result = *computed;
  }
  memo.back()[memoKey] = result;
  return result;
}

FailureOr<std::string> KernelWriter::tableOf(ConstantOp constant) {
  auto attr = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!attr || (!attr.isSplat() && attr.getNumElements() > 4096))
    return constant.emitError("cuda: a constant inside a fusion group must be a splat or at most "
                              "4096 dense elements"),
           failure();
  Type t = elementOf(constant.getResult());
  std::string table = this->name + "_" + fresh("table");
  const int64_t count = attr.isSplat() ? 1 : attr.getNumElements();
  llvm::raw_string_ostream g(globals);
  g << "static __device__ const " << computeType(t) << " " << table << "[" << count << "] = {";
  for (int64_t j = 0; j < count; ++j) {
    g << (j ? ", " : "");
    if (isa<FloatType>(t))
      g << literal(attr.getValues<APFloat>()[j].convertToDouble(), t);
    else if (t.isInteger(1))
      g << (attr.getValues<bool>()[j] ? "true" : "false");
    else
      g << intLiteral(attr.getValues<APInt>()[j], t);
  }
  g << "};\n";
  return table;
}

FailureOr<std::string> KernelWriter::compute(Operation *op, Value v, ArrayRef<std::string> coords) {
  for (Type t : op->getResultTypes())
    if (failed(checkElementType(op, cast<RankedTensorType>(t).getElementType())))
      return failure();
  if (auto constant = dyn_cast<ConstantOp>(op)) {
    auto attr = dyn_cast<DenseElementsAttr>(constant.getValue());
    Type t = elementOf(v);
    std::string name = fresh("c");
    if (attr && attr.isSplat()) {
      std::string value =
          isa<FloatType>(t) ? literal(attr.getSplatValue<APFloat>().convertToDouble(), t)
          : t.isInteger(1)  ? literal(attr.getSplatValue<bool>(), t)
                            : intLiteral(attr.getSplatValue<APInt>(), t);
      line() << "const " << computeType(t) << " " << name << " = " << value << ";\n";
      return name;
    }
    FailureOr<std::string> table = tableOf(constant);
    if (failed(table))
      return failure();
    line() << "const " << computeType(t) << " " << name << " = " << *table << "["
           << linearize(coords, dims(v)) << "];\n";
    return name;
  }
  if (isa<QuantizeOp, DequantizeOp>(op))
    return computeQuantize(op, coords);
  if (getOpClass(op) == DSX_OP_ELEMENTWISE)
    return computeElementwise(op, coords);
  if (isa<TransposeOp, ReshapeOp, ExpandOp, TileOp, SliceOp, GatherOp, GatherElementsOp,
          GatherNDOp, ConcatOp, PadOp, TriluOp, RotaryEmbeddingOp, ShapeOp, RangeOp>(op))
    return computeDataMovement(op, coords);
  if (isa<ConvOp, ConvIntegerOp, PoolOp>(op))
    return computeWindow(op, coords);
  if (isa<ScatterElementsOp, ScatterNDOp>(op))
    return computeScatter(op, coords);
  if (auto convT = dyn_cast<ConvTransposeOp>(op))
    return computeConvTranspose(convT, coords);
  if (auto matmul = dyn_cast<MatMulIntegerOp>(op))
    return computeMatMulInteger(matmul, coords);
  if (auto cumsum = dyn_cast<CumSumOp>(op))
    return computeScan(cumsum, coords);
  if (auto arg = dyn_cast<ArgReduceOp>(op))
    return computeArgReduce(arg, coords);
  if (auto einsum = dyn_cast<EinsumOp>(op))
    return computeEinsum(einsum, coords);
  if (auto resize = dyn_cast<ResizeOp>(op))
    return computeResize(resize, coords);
  if (isa<DynamicReduceOp>(op))
    return op->emitError("cuda: a reduction whose axes are known only at run time is not "
                         "supported (bind them with --ds-bind-input)"),
           failure();
  return op->emitError("cuda: cannot emit '")
         << op->getName() << "' in a " << stringifyFusionKind(group.getKind())
         << " fusion group (not supported by the CUDA emitter)",
         failure();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// The float expression of a unary kind applied to `x` of float type `t`.
static std::optional<std::string> floatUnary(UnaryOp op, StringRef x, Type t) {
  auto a = [&](double d) { return literal(op.getAlpha() ? op.getAlpha()->convertToDouble() : d, t); };
  auto b = [&](double d) { return literal(op.getBeta() ? op.getBeta()->convertToDouble() : d, t); };
  auto f = [&](StringRef name) { return mathFn(name, t); };
  const std::string zero = literal(0.0, t), one = literal(1.0, t);
  std::string s = x.str();
  switch (op.getKind()) {
  case UnaryKind::abs: return f("fabs") + "(" + s + ")";
  case UnaryKind::neg: return "-" + s;
  case UnaryKind::sqrt: return f("sqrt") + "(" + s + ")";
  case UnaryKind::reciprocal: return one + " / " + s;
  case UnaryKind::exp: return f("exp") + "(" + s + ")";
  case UnaryKind::log: return f("log") + "(" + s + ")";
  case UnaryKind::erf: return f("erf") + "(" + s + ")";
  case UnaryKind::tanh: return f("tanh") + "(" + s + ")";
  case UnaryKind::sigmoid: return "ds_sigmoid(" + s + ")";
  case UnaryKind::relu: return "ds_relu(" + s + ")";
  case UnaryKind::leaky_relu: return "(" + s + " < " + zero + " ? " + a(0.01) + " * " + s + " : " + s + ")";
  case UnaryKind::elu: return "ds_elu(" + s + ", " + a(1.0) + ")";
  case UnaryKind::selu: return "ds_selu(" + s + ", " + a(1.67326319217681884765625) + ", " + b(1.05070102214813232421875) + ")";
  case UnaryKind::celu: return "ds_celu(" + s + ", " + a(1.0) + ")";
  case UnaryKind::hard_sigmoid: return "ds_hard_sigmoid(" + s + ", " + a(0.2) + ", " + b(0.5) + ")";
  case UnaryKind::hard_swish: return "ds_hard_swish(" + s + ")";
  case UnaryKind::softplus: return "ds_softplus(" + s + ")";
  case UnaryKind::softsign: return "(" + s + " / (" + one + " + " + f("fabs") + "(" + s + ")))";
  case UnaryKind::gelu: return "ds_gelu(" + s + ")";
  case UnaryKind::gelu_tanh: return "ds_gelu_tanh(" + s + ")";
  case UnaryKind::mish: return "ds_mish(" + s + ")";
  case UnaryKind::thresholded_relu: return "(" + s + " > " + a(1.0) + " ? " + s + " : " + zero + ")";
  case UnaryKind::shrink: return "ds_shrink(" + s + ", " + a(0.5) + ", " + b(0.0) + ")";
  case UnaryKind::cos: return f("cos") + "(" + s + ")";
  case UnaryKind::sin: return f("sin") + "(" + s + ")";
  case UnaryKind::tan: return f("tan") + "(" + s + ")";
  case UnaryKind::acos: return f("acos") + "(" + s + ")";
  case UnaryKind::asin: return f("asin") + "(" + s + ")";
  case UnaryKind::atan: return f("atan") + "(" + s + ")";
  case UnaryKind::cosh: return f("cosh") + "(" + s + ")";
  case UnaryKind::sinh: return f("sinh") + "(" + s + ")";
  case UnaryKind::acosh: return f("acosh") + "(" + s + ")";
  case UnaryKind::asinh: return f("asinh") + "(" + s + ")";
  case UnaryKind::atanh: return f("atanh") + "(" + s + ")";
  case UnaryKind::floor: return f("floor") + "(" + s + ")";
  case UnaryKind::ceil: return f("ceil") + "(" + s + ")";
  case UnaryKind::round: return f("rint") + "(" + s + ")"; // half to even, as ONNX Round
  case UnaryKind::sign: return "ds_sign(" + s + ")";
  case UnaryKind::is_nan: return "isnan(" + s + ")";
  case UnaryKind::is_inf: return "isinf(" + s + ")";
  case UnaryKind::is_pos_inf: return "(" + s + " == DS_INF)";
  case UnaryKind::is_neg_inf: return "(" + s + " == -DS_INF)";
  default: return std::nullopt;
  }
}

static std::optional<std::string> intUnary(UnaryOp op, StringRef x) {
  std::string s = x.str();
  switch (op.getKind()) {
  case UnaryKind::abs: return "(" + s + " < 0 ? -" + s + " : " + s + ")";
  case UnaryKind::neg: return "-" + s;
  case UnaryKind::relu: return "(" + s + " > 0 ? " + s + " : 0)";
  case UnaryKind::sign: return "((" + s + " > 0) - (" + s + " < 0))";
  case UnaryKind::logical_not: return "!" + s;
  case UnaryKind::bitwise_not: return "~" + s;
  default: return std::nullopt;
  }
}

static std::optional<std::string> binaryExpr(BinaryKind kind, Type t, StringRef l, StringRef r) {
  bool isFloat = isa<FloatType>(t);
  std::string type = computeType(t);
  auto f = [&](StringRef name) { return mathFn(name, t); };
  std::string a = l.str(), b = r.str();
  switch (kind) {
  case BinaryKind::add: return a + " + " + b;
  case BinaryKind::sub: return a + " - " + b;
  case BinaryKind::mul: return a + " * " + b;
  case BinaryKind::div: return a + " / " + b;
  case BinaryKind::pow:
    return isFloat ? f("pow") + "(" + a + ", " + b + ")"
                   : "(" + type + ")pow((double)" + a + ", (double)" + b + ")";
  case BinaryKind::min: return isFloat ? f("fmin") + "(" + a + ", " + b + ")" : "(" + a + " < " + b + " ? " + a + " : " + b + ")";
  case BinaryKind::max: return isFloat ? f("fmax") + "(" + a + ", " + b + ")" : "(" + a + " > " + b + " ? " + a + " : " + b + ")";
  case BinaryKind::mod: return "ds_mod(" + a + ", " + b + ")";
  case BinaryKind::fmod: return isFloat ? f("fmod") + "(" + a + ", " + b + ")" : a + " % " + b;
  case BinaryKind::logical_and: return a + " && " + b;
  case BinaryKind::logical_or: return a + " || " + b;
  case BinaryKind::logical_xor: return a + " != " + b;
  case BinaryKind::bitwise_and: return isFloat ? std::optional<std::string>() : a + " & " + b;
  case BinaryKind::bitwise_or: return isFloat ? std::optional<std::string>() : a + " | " + b;
  case BinaryKind::bitwise_xor: return isFloat ? std::optional<std::string>() : a + " ^ " + b;
  case BinaryKind::shift_left: return isFloat ? std::optional<std::string>() : a + " << " + b;
  case BinaryKind::shift_right: return isFloat ? std::optional<std::string>() : a + " >> " + b;
  }
  return std::nullopt;
}

FailureOr<std::string> KernelWriter::computeElementwise(Operation *op, ArrayRef<std::string> coords) {
  Value result = op->getResult(0);
  Dims shape = dims(result);
  Type t = elementOf(result);
  SmallVector<std::string> args;
  for (Value operand : op->getOperands()) {
    if (failed(checkElementType(op, elementOf(operand))))
      return failure();
    FailureOr<std::string> a = at(operand, broadcastCoords(dims(operand), shape, coords));
    if (failed(a))
      return failure();
    args.push_back(*a);
  }
  std::optional<std::string> expr;
  if (auto unary = dyn_cast<UnaryOp>(op)) {
    Type in = elementOf(unary.getInput());
    expr = isa<FloatType>(in) ? floatUnary(unary, args[0], in) : intUnary(unary, args[0]);
    if (!expr)
      return op->emitError("cuda: unary '")
             << stringifyUnaryKind(unary.getKind()) << "' on " << in << " is not supported",
             failure();
  } else if (auto binary = dyn_cast<BinaryOp>(op)) {
    expr = binaryExpr(binary.getKind(), t, args[0], args[1]);
    if (!expr)
      return op->emitError("cuda: binary '")
             << stringifyBinaryKind(binary.getKind()) << "' on " << t << " is not supported",
             failure();
  } else if (auto compare = dyn_cast<CompareOp>(op)) {
    static const char *ops[] = {" == ", " < ", " <= ", " > ", " >= "};
    expr = args[0] + ops[(int)compare.getKind()] + args[1];
  } else if (isa<SelectOp>(op)) {
    expr = args[0] + " ? " + args[1] + " : " + args[2];
  } else if (auto cast = dyn_cast<CastOp>(op)) {
    Type in = elementOf(cast.getInput());
    if (t.isInteger(1))
      expr = "(" + args[0] + " != 0)";
    else if (t.isF16() && !in.isF16())
      expr = "ds_round_f16((float)" + args[0] + ")";
    else if (t.isBF16() && !in.isBF16())
      expr = "ds_round_bf16((float)" + args[0] + ")";
    else if (int kind = float8Kind(t); kind >= 0 && t != in)
      expr = "ds_round_f8((float)" + args[0] + ", " + std::to_string(kind) + ", " +
             (cast.getSaturate() ? "true" : "false") + ")";
    else if (auto it = dyn_cast<IntegerType>(t); it && it.getWidth() < 8) // i4, ui4, i2, ui2
      expr = "ds_wrap_" + std::string(it.isUnsigned() ? "u" : "i") + std::to_string(it.getWidth()) +
             "((long long)" + args[0] + ")";
    else
      expr = "(" + computeType(t) + ")" + args[0];
  }
  std::string name = fresh("v");
  line() << computeType(t) << " " << name << " = " << *expr << ";\n";
  return name;
}
