//===- NodeImporter.cpp - per-node import helpers and the op registry -----===//
#include "NodeImporter.h"

#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
struct VersionEntry {
  const char *name;
  std::initializer_list<int64_t> versions;
};
#define DS_ONNX_MAX_OPSET(n) constexpr int64_t kMaxOpset = n;
#define DS_ONNX_OP(name, ...)
#include "OnnxOpVersions.inc"
#undef DS_ONNX_MAX_OPSET
#undef DS_ONNX_OP

const llvm::StringMap<SmallVector<int64_t, 8>> &versionTable() {
  static const llvm::StringMap<SmallVector<int64_t, 8>> table = [] {
    llvm::StringMap<SmallVector<int64_t, 8>> t;
#define DS_ONNX_MAX_OPSET(n)
#define DS_ONNX_OP(name, ...)                                                  \
  {                                                                            \
    std::initializer_list<int64_t> v = __VA_ARGS__;                            \
    t[name].assign(v.begin(), v.end());                                        \
  }
#include "OnnxOpVersions.inc"
#undef DS_ONNX_MAX_OPSET
#undef DS_ONNX_OP
    return t;
  }();
  return table;
}
} // namespace

int64_t onnx_import::maxKnownOpset() { return kMaxOpset; }

namespace {
using AttrType = onnx::AttributeProto::AttributeType;
/// (op type, since version) -> attribute name -> type, from the ONNX schema.
const llvm::StringMap<llvm::StringMap<AttrType>> &attributeTable() {
  static const llvm::StringMap<llvm::StringMap<AttrType>> table = [] {
    llvm::StringMap<llvm::StringMap<AttrType>> t;
#define DS_ONNX_ATTR(op, since, name, type)                                    \
  t[std::string(op) + "-" #since][name] = onnx::AttributeProto::type;
#define DS_ONNX_INPUT(...)
#define DS_ONNX_TYPES(...)
#include "OnnxOpAttributes.inc"
#undef DS_ONNX_ATTR
#undef DS_ONNX_INPUT
#undef DS_ONNX_TYPES
    return t;
  }();
  return table;
}

std::string typeName(AttrType type) { return onnx::AttributeProto::AttributeType_Name(type); }

/// A formal input of a schema version: its name, type parameter and option.
struct FormalInput {
  const char *name, *param;
  int option; // 0 single, 1 optional, 2 variadic
};
struct InputSchema {
  SmallVector<FormalInput, 4> inputs;
  llvm::StringMap<SmallVector<StringRef, 16>> allowed; ///< type parameter -> element types
};

/// (op type, since version) -> formal inputs and the types they allow.
const llvm::StringMap<InputSchema> &inputTable() {
  static const llvm::StringMap<InputSchema> table = [] {
    llvm::StringMap<InputSchema> t;
#define DS_ONNX_ATTR(op, since, name, type)
#define DS_ONNX_INPUT(op, since, index, name, param, option)                   \
  t[std::string(op) + "-" #since].inputs.push_back({name, param, option});
#define DS_ONNX_TYPES(op, since, param, types)                                 \
  StringRef(types).split(t[std::string(op) + "-" #since].allowed[param], ',', -1, false);
#include "OnnxOpAttributes.inc"
#undef DS_ONNX_ATTR
#undef DS_ONNX_INPUT
#undef DS_ONNX_TYPES
    return t;
  }();
  return table;
}

/// An element type as ONNX's type strings spell it ("float", "int64", "bool").
std::string onnxElementName(Type type) {
  if (type.isF32()) return "float";
  if (type.isF64()) return "double";
  if (type.isF16()) return "float16";
  if (type.isBF16()) return "bfloat16";
  if (type.isFloat8E4M3FN()) return "float8e4m3fn";
  if (type.isFloat8E5M2()) return "float8e5m2";
  if (type.isFloat8E4M3FNUZ()) return "float8e4m3fnuz";
  if (type.isFloat8E5M2FNUZ()) return "float8e5m2fnuz";
  if (type.isInteger(1)) return "bool";
  if (auto integer = dyn_cast<IntegerType>(type))
    return (integer.isUnsigned() ? "uint" : "int") + std::to_string(integer.getWidth());
  return "unknown";
}
} // namespace

std::string onnx_import::checkInputTypes(const onnx::NodeProto &node, int64_t since,
                                         ArrayRef<Value> inputs) {
  const auto &table = inputTable();
  auto schema = table.find(node.op_type() + "-" + std::to_string(since));
  if (schema == table.end() || schema->second.inputs.empty())
    return {};
  const InputSchema &s = schema->second;
  llvm::StringMap<std::pair<Type, size_t>> bound; // type parameter -> (type, input index)
  for (auto [index, value] : llvm::enumerate(inputs)) {
    if (!value)
      continue;
    // Inputs past the last formal belong to a trailing variadic one.
    const FormalInput &formal = s.inputs[std::min(index, s.inputs.size() - 1)];
    if (index >= s.inputs.size() && formal.option != 2)
      return "takes at most " + std::to_string(s.inputs.size()) + " inputs, got " +
             std::to_string(inputs.size());
    auto allowed = s.allowed.find(formal.param);
    Type element = cast<RankedTensorType>(value.getType()).getElementType();
    std::string where = "input " + std::to_string(index) + " ('" + formal.name + "')";
    if (allowed != s.allowed.end() &&
        !llvm::is_contained(allowed->second, onnxElementName(element)))
      return where + " has element type " + onnxElementName(element) + ", which " +
             formal.param + " does not allow (" + llvm::join(allowed->second, ", ") + ")";
    auto [it, first] = bound.try_emplace(formal.param, element, index);
    if (!first && it->second.first != element)
      return where + " has element type " + onnxElementName(element) + " but " + formal.param +
             " is " + onnxElementName(it->second.first) + " (input " +
             std::to_string(it->second.second) + ")";
  }
  return {};
}

std::string onnx_import::checkAttributes(const onnx::NodeProto &node, int64_t since) {
  const auto &table = attributeTable();
  auto schema = table.find(node.op_type() + "-" + std::to_string(since));
  for (const auto &a : node.attribute()) {
    std::string where = "attribute '" + a.name() + "'";
    const AttrType *expected = nullptr;
    if (schema != table.end()) {
      auto it = schema->second.find(a.name());
      if (it != schema->second.end())
        expected = &it->second;
    }
    bool subgraph = a.type() == onnx::AttributeProto::GRAPH ||
                    a.type() == onnx::AttributeProto::GRAPHS;
    if (!expected)
      return where + (subgraph ? " holds a subgraph, which " : " is not an attribute of ") +
             node.op_type() + "-" + std::to_string(since) + (subgraph ? " does not take" : "");
    // IR version 1 models may leave the type unset; their fields still parse.
    if (a.type() != onnx::AttributeProto::UNDEFINED && a.type() != *expected)
      return where + " is " + typeName(a.type()) + ", expected " + typeName(*expected);
  }
  return {};
}

std::optional<int64_t> onnx_import::resolveSinceVersion(StringRef opType, int64_t opset) {
  auto it = versionTable().find(opType);
  if (it == versionTable().end())
    return std::nullopt;
  std::optional<int64_t> since;
  for (int64_t v : it->second)
    if (v <= opset)
      since = v;
  return since;
}

OpRegistry &OpRegistry::get() {
  static OpRegistry registry = [] {
    OpRegistry r;
    registerElementwiseImporters(r);
    registerNNImporters(r);
    registerShapeImporters(r);
    registerReductionImporters(r);
    registerQuantImporters(r);
    registerCompositeImporters(r);
    return r;
  }();
  return registry;
}

void OpRegistry::add(StringRef opType, int64_t minSince, int64_t maxSince, ImportFn fn) {
  entries[opType].push_back({minSince, maxSince, std::move(fn)});
}

const ImportFn *OpRegistry::lookup(StringRef opType, int64_t since) const {
  auto it = entries.find(opType);
  if (it == entries.end())
    return nullptr;
  for (const Entry &e : it->second)
    if (e.minSince <= since && since <= e.maxSince)
      return &e.fn;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// NodeImporter
//===----------------------------------------------------------------------===//

InFlightDiagnostic NodeImporter::error() {
  return mlir::emitError(loc) << node.op_type() << ": ";
}

FailureOr<Value> NodeImporter::required(size_t i, StringRef what) {
  if (Value v = input(i))
    return v;
  return error() << "missing required input " << i << " (" << what << ")";
}

const onnx::AttributeProto *NodeImporter::attr(StringRef name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeImporter::attrInt(StringRef name, int64_t fallback) const {
  const auto *a = attr(name);
  return a ? a->i() : fallback;
}

double NodeImporter::attrFloat(StringRef name, double fallback) const {
  const auto *a = attr(name);
  return a ? a->f() : fallback;
}

std::string NodeImporter::attrString(StringRef name, StringRef fallback) const {
  const auto *a = attr(name);
  return a ? a->s() : fallback.str();
}

SmallVector<int64_t> NodeImporter::attrInts(StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

SmallVector<double> NodeImporter::attrFloats(StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  return SmallVector<double>(a->floats().begin(), a->floats().end());
}

FailureOr<SmallVector<int64_t>> onnx_import::normalizeAxesInOrder(NodeImporter &n,
                                                                  ArrayRef<int64_t> axes,
                                                                  int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    auto axis = normalizeAxis(a, rank);
    if (!axis)
      return n.error() << "axis " << a << " is out of range for rank " << rank;
    if (llvm::is_contained(out, *axis))
      return n.error() << "axis " << a << " is repeated";
    out.push_back(*axis);
  }
  return out;
}

FailureOr<SmallVector<int64_t>> NodeImporter::requireConstInts(size_t i, StringRef what) {
  if (!input(i))
    return error() << "missing input " << i << " (" << what << ")";
  if (auto values = inputInts(i))
    return *values;
  return error() << what << " (input " << i << ") must be a constant";
}

/// Whether `op` computes floats from an initializer of two or more floats:
/// a weight. Such ops are left for canonicalization to fold, after
/// ds-promote-parameters has made each weight a parameter of a gradient
/// compile (folded at import, a batch norm's scale would vanish into the
/// convolution before). Everything else still folds here, where later
/// nodes may need it constant: shapes and other integer results, and floats
/// built from Constant nodes (PyTorch writes Resize's scales as a Concat of
/// two Constants).
static bool computesFromWeights(Operation *op, const llvm::DenseSet<Value> *initializers) {
  if (!initializers || llvm::none_of(op->getResultTypes(), [](Type t) {
        auto type = dyn_cast<RankedTensorType>(t);
        return type && isa<FloatType>(type.getElementType());
      }))
    return false;
  return llvm::any_of(op->getOperands(), [&](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return initializers->contains(v) && type && isa<FloatType>(type.getElementType()) &&
           type.hasStaticShape() && type.getNumElements() >= 2;
  });
}

SmallVector<Value> NodeImporter::finish(OperationState &state, bool infer) {
  // A null operand means an earlier op of this node failed and was diagnosed.
  if (llvm::any_of(state.operands, [](Value v) { return !v; }))
    return {};
  Operation *op = builder.create(state);
  if (infer) {
    SmallVector<Type> types;
    auto iface = cast<InferTypeOpInterface>(op);
    if (failed(iface.inferReturnTypes(op->getContext(), loc, op->getOperands(),
                                      op->getRawDictionaryAttrs(),
                                      op->getPropertiesStorage(), op->getRegions(),
                                      types))) {
      op->erase();
      return {};
    }
    for (auto [result, type] : llvm::zip(op->getResults(), types))
      result.setType(type);
  }
  if (failed(mlir::verify(op))) {
    op->erase();
    return {};
  }
  SmallVector<Value> folded;
  if (!computesFromWeights(op, initializers) && succeeded(builder.tryFold(op, folded)) &&
      !folded.empty()) {
    op->erase();
    return folded;
  }
  return SmallVector<Value>(op->getResults());
}

Value NodeImporter::constAttr(ElementsAttr value) {
  return builder.create<ConstantOp>(loc, value);
}

Value NodeImporter::constInts(ArrayRef<int64_t> values, bool scalar) {
  auto type = RankedTensorType::get(scalar ? ArrayRef<int64_t>{}
                                           : ArrayRef<int64_t>{(int64_t)values.size()},
                                    builder.getI64Type());
  return constAttr(DenseElementsAttr::get(type, values));
}

Value NodeImporter::constScalar(Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  if (auto f = dyn_cast<FloatType>(elementType)) {
    APFloat v(value);
    bool lost;
    v.convert(f.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    return constAttr(DenseElementsAttr::get(type, v));
  }
  unsigned width = elementType.getIntOrFloatBitWidth();
  return constAttr(DenseElementsAttr::get(
      type, APInt(64, (int64_t)value, /*isSigned=*/true).trunc(width)));
}

Value NodeImporter::castTo(Value x, Type element) {
  auto type = typeOf(x);
  if (type.getElementType() == element)
    return x;
  return createTyped<CastOp>(type.clone(element), x, false);
}

Value NodeImporter::squeeze(Value x, ArrayRef<int64_t> axes) {
  auto type = typeOf(x);
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!llvm::is_contained(axes, d))
      shape.push_back(type.isDynamicDim(d) ? -1 : type.getDimSize(d));
  SmallVector<int64_t> from;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!llvm::is_contained(axes, d))
      from.push_back(d);
  return reshapeCopyingDims(x, shape, from);
}

Value NodeImporter::reshapeCopyingDims(Value x, ArrayRef<int64_t> shape, ArrayRef<int64_t> from) {
  if (llvm::count(shape, -1) <= 1)
    return reshape(x, shape);
  // More than one dynamic dim: assemble the target shape at run time from
  // runs of the input's dims and the static sizes in between.
  SmallVector<Value> pieces;
  SmallVector<int64_t> statics;
  auto flushStatics = [&] {
    if (!statics.empty())
      pieces.push_back(constInts(statics));
    statics.clear();
  };
  for (size_t i = 0; i < shape.size();) {
    if (shape[i] != -1) {
      statics.push_back(shape[i++]);
      continue;
    }
    flushStatics();
    size_t end = i + 1;
    while (end < shape.size() && shape[end] == -1 && from[end] == from[end - 1] + 1)
      ++end;
    pieces.push_back(create<ShapeOp>(x, from[i], from[end - 1] + 1));
    if (!pieces.back())
      return {};
    i = end;
  }
  flushStatics();
  // allowzero: the target holds real sizes, so a dim of 0 means 0, not "copy".
  Value target = pieces.size() == 1 ? pieces.front() : create<ConcatOp>(ValueRange(pieces), 0);
  return target ? create<ReshapeOp>(x, target, true) : Value();
}

FailureOr<WindowAttrs> onnx_import::readConvWindow(NodeImporter &n, RankedTensorType input,
                                                   RankedTensorType weight, bool transposed) {
  if (input.getRank() < 3 || weight.getRank() != input.getRank())
    return n.error() << "X and W must have equal rank >= 3, got " << formatShape(input.getShape())
                     << " and " << formatShape(weight.getShape());
  SmallVector<int64_t> kernel = n.attrInts("kernel_shape");
  if (kernel.empty())
    kernel.assign(weight.getShape().begin() + 2, weight.getShape().end());
  return readWindowAttrs(n, input, kernel, transposed);
}

Value NodeImporter::unsqueeze(Value x, ArrayRef<int64_t> axes) {
  auto type = typeOf(x);
  int64_t outRank = type.getRank() + axes.size();
  for (int64_t axis : axes)
    if (axis < 0 || axis >= outRank || llvm::count(axes, axis) > 1) {
      error() << "cannot unsqueeze " << formatShape(type.getShape()) << " at axis " << axis
              << " (out of range or repeated for rank " << outRank << ")";
      return {};
    }
  SmallVector<int64_t> shape, from;
  int64_t src = 0;
  for (int64_t d = 0; d < outRank; ++d) {
    if (llvm::is_contained(axes, d)) {
      shape.push_back(1);
      from.push_back(-1);
      continue;
    }
    shape.push_back(type.isDynamicDim(src) ? -1 : type.getDimSize(src));
    from.push_back(src++);
  }
  return reshapeCopyingDims(x, shape, from);
}

//===----------------------------------------------------------------------===//
// Window attributes
//===----------------------------------------------------------------------===//

FailureOr<WindowAttrs> onnx_import::readWindowAttrs(NodeImporter &n, RankedTensorType input,
                                                   ArrayRef<int64_t> kernel, bool transposed) {
  size_t spatial = kernel.size();
  WindowAttrs w;
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides = n.attrInts("strides");
  w.dilations = n.attrInts("dilations");
  w.pads = n.attrInts("pads");
  if (w.strides.empty())
    w.strides.assign(spatial, 1);
  if (w.dilations.empty())
    w.dilations.assign(spatial, 1);
  if (w.strides.size() != spatial || w.dilations.size() != spatial)
    return n.error() << "expected " << spatial << " strides and dilations";
  if ((int64_t)spatial != input.getRank() - 2)
    return n.error() << "kernel has " << spatial << " dims for an input of rank "
                     << input.getRank();
  if (llvm::any_of(kernel, [](int64_t k) { return k < 1 && !ShapedType::isDynamic(k); }))
    return n.error() << "kernel_shape must be positive";
  if (llvm::any_of(w.strides, [](int64_t s) { return s < 1; }) ||
      llvm::any_of(w.dilations, [](int64_t d) { return d < 1; }))
    return n.error() << "strides and dilations must be positive";
  std::string autoPad = n.attrString("auto_pad", "NOTSET");
  if (autoPad == "NOTSET") {
    if (w.pads.empty())
      w.pads.assign(2 * spatial, 0);
    if (w.pads.size() != 2 * spatial)
      return n.error() << "expected " << 2 * spatial << " pads, got " << w.pads.size();
    return w;
  }
  w.pads.assign(2 * spatial, 0);
  if (autoPad == "VALID")
    return w;
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return n.error() << "unknown auto_pad '" << autoPad << "'";
  if (transposed)
    return w; // resolved by the ConvTranspose importer from the output size
  for (size_t i = 0; i < spatial; ++i) {
    int64_t in = input.getDimSize(i + 2);
    if (ShapedType::isDynamic(in) || ShapedType::isDynamic(kernel[i]))
      return n.error() << "auto_pad " << autoPad << " needs static spatial dims";
    int64_t out = (in + w.strides[i] - 1) / w.strides[i];
    int64_t span = (kernel[i] - 1) * w.dilations[i] + 1;
    int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + span - in);
    int64_t small = total / 2;
    w.pads[i] = autoPad == "SAME_UPPER" ? small : total - small;
    w.pads[i + spatial] = total - w.pads[i];
  }
  return w;
}
