//===- ONNXImporter.cpp - ONNX model to ds dialect -------------------------===//
//
// Reads a ModelProto, checks it (opset, op support, names, cycles), orders
// its nodes topologically and imports each one through the op registry into
// a `func.func @main`.
//
//===----------------------------------------------------------------------===//
#include "ds/Target/ONNX/ONNXImporter.h"
#include "NodeImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <deque>
#include <fcntl.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

void ds::registerONNXImportDialects(DialectRegistry &registry) {
  registry.insert<DSDialect, func::FuncDialect>();
}

bool ds::parseInputShapeSpecs(ArrayRef<std::string> specs, ImportOptions &options,
                              std::string &error) {
  for (StringRef spec : specs) {
    auto [name, dimsText] = spec.rsplit(':');
    if (name.empty() || dimsText.empty()) {
      error = "bad --ds-input-shape '" + spec.str() + "': expected name:DIMxDIM...";
      return false;
    }
    SmallVector<int64_t> dims;
    SmallVector<std::pair<int64_t, int64_t>> bounds;
    SmallVector<StringRef> parts;
    if (dimsText != "scalar")
      dimsText.split(parts, 'x');
    for (StringRef part : parts) {
      int64_t d, lo, hi;
      auto [low, high] = part.split("..");
      if (part == "?") {
        dims.push_back(ShapedType::kDynamic);
        bounds.push_back({-1, -1});
      } else if (!part.getAsInteger(10, d) && d >= 0) {
        dims.push_back(d);
        bounds.push_back({d, d});
      } else if (part.contains("..") && !low.getAsInteger(10, lo) && !high.getAsInteger(10, hi) &&
                 lo >= 0 && lo <= hi) {
        // A dynamic dim the runtime accepts in [lo, hi].
        dims.push_back(lo == hi ? lo : ShapedType::kDynamic);
        bounds.push_back({lo, hi});
      } else {
        error = "bad dim '" + part.str() + "' in --ds-input-shape '" + spec.str() +
                "': expected a size, '?' or a range MIN..MAX";
        return false;
      }
    }
    options.inputShapes[name] = dims;
    options.inputDimBounds[name] = bounds;
  }
  return true;
}

bool ds::parseBindInputSpecs(ArrayRef<std::string> specs, ImportOptions &options,
                             std::string &error) {
  for (StringRef spec : specs) {
    auto [name, path] = spec.split('=');
    if (name.empty() || path.empty()) {
      error = "bad --ds-bind-input '" + spec.str() + "': expected name=file.pb";
      return false;
    }
    options.boundInputs[name] = path.str();
  }
  return true;
}

namespace {
/// Reads a serialized TensorProto (the ONNX test-data format).
FailureOr<ElementsAttr> readTensorFile(StringRef path, StringRef inputName, Location loc,
                                       MLIRContext *ctx, std::vector<std::string> *readFiles) {
  uint64_t size = 0;
  std::string error;
  int fd = openRegularFile(path, size, error);
  if (fd < 0)
    return mlir::emitError(loc) << "cannot read the tensor for input '" << inputName
                                << "' from '" << path << "': " << error;
  auto buffer = llvm::MemoryBuffer::getOpenFile(llvm::sys::fs::convertFDToNativeFile(fd), path,
                                                size);
  ::close(fd);
  if (!buffer)
    return mlir::emitError(loc) << "cannot read the tensor for input '" << inputName
                                << "' from '" << path << "': " << buffer.getError().message();
  if (readFiles)
    readFiles->push_back(path.str());
  onnx::TensorProto tensor;
  if (!tensor.ParseFromArray((*buffer)->getBufferStart(), (int)(*buffer)->getBufferSize()))
    return mlir::emitError(loc) << "'" << path << "' is not a serialized ONNX TensorProto";
  tensor.set_name(inputName.str());
  return importTensor(tensor, llvm::sys::path::parent_path(path), loc, ctx);
}

/// Diagnoses a tensor shape beyond the rank or element-count limit.
LogicalResult checkShapeLimits(ArrayRef<int64_t> dims, const ImportLimits &limits,
                               llvm::function_ref<InFlightDiagnostic()> error,
                               StringRef what) {
  if ((int64_t)dims.size() > limits.maxRank)
    return error() << what << " has rank " << dims.size() << ", more than the limit of "
                   << limits.maxRank << " (--ds-max-rank)";
  int64_t count = 1;
  for (int64_t d : dims) {
    if (ShapedType::isDynamic(d) || d < 0)
      continue;
    if (llvm::MulOverflow(count, d, count) || count > limits.maxElements)
      return error() << what << " has dims " << formatShape(dims)
                     << ", more elements than the limit of " << limits.maxElements
                     << " (--ds-max-elements)";
  }
  return success();
}

class GraphImporter {
public:
  GraphImporter(MLIRContext *ctx, const ImportOptions &options, StringRef modelPath,
                uint64_t fileBytes, std::vector<std::string> *readFiles)
      : ctx(ctx), options(options), modelPath(modelPath), fileBytes(fileBytes),
        readFiles(readFiles), builder(ctx), fileLoc(FileLineColLoc::get(ctx, modelPath, 0, 0)) {
    baseDir = llvm::sys::path::parent_path(modelPath).str();
  }

  OwningOpRef<ModuleOp> run(onnx::ModelProto &model);

private:
  InFlightDiagnostic error() { return mlir::emitError(fileLoc); }
  Location nodeLoc(const onnx::NodeProto &node, size_t index);
  FailureOr<RankedTensorType> valueInfoType(const onnx::ValueInfoProto &info);
  /// The type of a graph input declared without a shape: a scalar when its
  /// uses all take one (operandRank); an error otherwise.
  FailureOr<RankedTensorType> shapelessInputType(const onnx::GraphProto &graph,
                                                 const onnx::ValueInfoProto &input);
  /// Records on argument `index` of `func` what its dynamic dims are called
  /// (`ds.dim_symbols`: the ONNX dim_param, or "" when anonymous) and their
  /// bounds from --ds-input-shape (`ds.dim_bounds`: min, max per dim, -1
  /// where unbounded); nothing for a static argument.
  void setDimSymbols(func::FuncOp func, unsigned index, const onnx::ValueInfoProto *info);
  LogicalResult checkOpset(const onnx::ModelProto &model);
  LogicalResult checkSupport(const onnx::GraphProto &graph);
  LogicalResult checkNames(const onnx::GraphProto &graph);
  FailureOr<std::vector<size_t>> topologicalOrder(const onnx::GraphProto &graph);
  /// Imports an initializer's value, counting its external data against
  /// --ds-max-model-bytes.
  FailureOr<ElementsAttr> importInitializer(onnx::TensorProto &init);

  MLIRContext *ctx;
  const ImportOptions &options;
  std::string modelPath, baseDir;
  uint64_t fileBytes;
  uint64_t modelBytes = fileBytes; ///< the file plus external data read so far
  std::vector<std::string> *readFiles; ///< external and bound-input files read
  OpBuilder builder;
  Location fileLoc;
  int64_t opset = 0;
  llvm::StringMap<Value> values;
  llvm::DenseSet<Value> initializerValues; ///< the constants of `values` that are initializers
};

Location GraphImporter::nodeLoc(const onnx::NodeProto &node, size_t index) {
  std::string name = node.name().empty() ? node.op_type() + "_" + std::to_string(index)
                                         : node.name();
  return NameLoc::get(StringAttr::get(ctx, name));
}

FailureOr<RankedTensorType> GraphImporter::valueInfoType(const onnx::ValueInfoProto &info) {
  if (!info.type().has_tensor_type())
    return error() << "graph value '" << info.name()
                   << "' is not a tensor (sequences, maps and optionals are not supported)";
  const auto &tensorType = info.type().tensor_type();
  Type element = convertElementType(tensorType.elem_type(), ctx);
  if (!element)
    return error() << "graph value '" << info.name() << "' has unsupported element type "
                   << onnxTypeName(tensorType.elem_type());
  auto checked = [&](ArrayRef<int64_t> dims) -> FailureOr<RankedTensorType> {
    if (failed(checkShapeLimits(dims, options.limits, [&] { return error(); },
                                "graph value '" + info.name() + "'")))
      return failure();
    return RankedTensorType::get(dims, element);
  };
  auto override = options.inputShapes.find(info.name());
  if (override != options.inputShapes.end())
    return checked(override->second);
  if (!tensorType.has_shape())
    return error() << "graph value '" << info.name()
                   << "' has no shape (unknown rank); give one with --ds-input-shape";
  SmallVector<int64_t> dims;
  for (const auto &dim : tensorType.shape().dim()) {
    if (dim.has_dim_value()) {
      if (dim.dim_value() < 0)
        return error() << "graph value '" << info.name() << "' has negative dimension "
                       << dim.dim_value();
      dims.push_back(dim.dim_value());
    } else {
      dims.push_back(ShapedType::kDynamic);
    }
  }
  return checked(dims);
}

/// Operand positions that take a scalar: Clip's bounds, Range's arguments,
/// Pad's value, Dropout's ratio and mode, CumSum's axis. (Vector operands such
/// as Slice's starts need a static length, which a shapeless input lacks.)
static std::optional<int64_t> operandRank(StringRef op, int index) {
  static const struct {
    const char *op;
    int index;
  } scalars[] = {{"Clip", 1},    {"Clip", 2},    {"Range", 0},   {"Range", 1}, {"Range", 2},
                 {"Pad", 2},     {"Dropout", 1}, {"Dropout", 2}, {"CumSum", 1}};
  for (const auto &e : scalars)
    if (op == e.op && index == e.index)
      return 0;
  return std::nullopt;
}

FailureOr<RankedTensorType> GraphImporter::shapelessInputType(const onnx::GraphProto &graph,
                                                              const onnx::ValueInfoProto &input) {
  auto error = [&] { return emitError(fileLoc) << "graph input '" << input.name() << "' "; };
  std::optional<int64_t> rank;
  bool used = false;
  for (const auto &node : graph.node())
    for (int i = 0; i < node.input_size(); ++i) {
      if (node.input(i) != input.name())
        continue;
      std::optional<int64_t> wanted = operandRank(node.op_type(), i);
      if (!wanted || (used && rank != wanted))
        return error() << "has no shape (unknown rank), and its use by '" << node.op_type()
                       << "' (input " << i << ") does not fix one; give one with "
                       << "--ds-input-shape",
               failure();
      rank = wanted;
      used = true;
    }
  if (!rank)
    return error() << "has no shape (unknown rank) and no use that fixes one; give one with "
                   << "--ds-input-shape",
           failure();
  Type element = convertElementType(input.type().tensor_type().elem_type(), ctx);
  if (!element)
    return error() << "has unsupported element type "
                   << onnxTypeName(input.type().tensor_type().elem_type()),
           failure();
  // The runtime accepts one element at any rank for it (DSX_VALUE_ANY_RANK).
  return RankedTensorType::get({}, element);
}

void GraphImporter::setDimSymbols(func::FuncOp func, unsigned index,
                                  const onnx::ValueInfoProto *info) {
  auto type = cast<RankedTensorType>(func.getArgumentTypes()[index]);
  if (type.hasStaticShape() || !info)
    return;
  const auto &tensorType = info->type().tensor_type();
  bool ranked = tensorType.has_shape() && tensorType.shape().dim_size() == type.getRank();
  auto bounds = options.inputDimBounds.lookup(info->name());
  SmallVector<Attribute> names;
  SmallVector<int64_t> limits;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    std::string name;
    if (type.isDynamicDim(d) && ranked && tensorType.shape().dim(d).has_dim_param())
      name = tensorType.shape().dim(d).dim_param();
    names.push_back(builder.getStringAttr(name));
    auto bound = (size_t)d < bounds.size() ? bounds[d] : std::pair<int64_t, int64_t>{-1, -1};
    limits.append({bound.first, bound.second});
  }
  func.setArgAttr(index, "ds.dim_symbols", builder.getArrayAttr(names));
  func.setArgAttr(index, "ds.dim_bounds", builder.getDenseI64ArrayAttr(limits));
}

LogicalResult GraphImporter::checkOpset(const onnx::ModelProto &model) {
  for (const auto &entry : model.opset_import()) {
    StringRef domain = entry.domain();
    if (domain.empty() || domain == "ai.onnx") {
      opset = entry.version();
      if (opset > maxKnownOpset())
        return error() << "model requires opset " << opset
                       << " of domain 'ai.onnx' but ds knows opsets up to "
                       << maxKnownOpset() << " (onnx " << "1.22.0" << ")";
    }
  }
  return success(); // opset 0: only nodes of other domains can be present
}

LogicalResult GraphImporter::checkSupport(const onnx::GraphProto &graph) {
  const OpRegistry &registry = OpRegistry::get();
  int unsupported = 0, badAttributes = 0;
  for (const auto &[index, node] : llvm::enumerate(graph.node())) {
    StringRef domain = node.domain();
    std::string reason;
    bool hasSubgraph = llvm::any_of(node.attribute(), [](const onnx::AttributeProto &a) {
      return a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS;
    });
    if (!domain.empty() && domain != "ai.onnx") {
      reason = "domain '" + domain.str() + "' is not supported";
    } else if (auto since = resolveSinceVersion(node.op_type(), opset)) {
      if (!registry.lookup(node.op_type(), *since))
        reason = hasSubgraph ? "control flow with subgraph attributes is not supported"
                             : "version " + std::to_string(*since) + " is not supported";
    } else {
      reason = "not an operator of opset " + std::to_string(opset);
    }
    if (reason.empty()) {
      std::string bad = checkAttributes(node, *resolveSinceVersion(node.op_type(), opset));
      if (bad.empty())
        continue;
      ++badAttributes;
      mlir::emitError(nodeLoc(node, index)) << node.op_type() << ": " << bad;
      continue;
    }
    ++unsupported;
    mlir::emitError(nodeLoc(node, index))
        << "unsupported ONNX op '" << node.op_type() << "' (domain '" << (domain.empty() ? "ai.onnx" : domain) << "', opset " << opset
        << "): " << reason;
  }
  if (unsupported)
    return error() << unsupported << " unsupported op" << (unsupported == 1 ? "" : "s")
                   << " in model";
  return failure(badAttributes > 0);
}

FailureOr<ElementsAttr> GraphImporter::importInitializer(onnx::TensorProto &init) {
  Location loc = NameLoc::get(StringAttr::get(ctx, init.name()), fileLoc);
  SmallVector<int64_t> dims(init.dims().begin(), init.dims().end());
  if (failed(checkShapeLimits(dims, options.limits, [&] { return mlir::emitError(loc); },
                              "initializer '" + init.name() + "'")))
    return failure();
  if (init.data_location() == onnx::TensorProto::EXTERNAL) {
    // Counted from the dims (bounded above), before anything is mapped.
    auto count = staticElementCount(dims);
    Type element = convertElementType(init.data_type(), ctx);
    uint64_t width = element ? (element.getIntOrFloatBitWidth() + 7) / 8 : 0, bytes = 0;
    if (!count || __builtin_mul_overflow((uint64_t)*count, width, &bytes) ||
        __builtin_add_overflow(modelBytes, bytes, &modelBytes) ||
        modelBytes > options.limits.maxModelBytes)
      return mlir::emitError(loc) << "the model with its external data exceeds the limit of "
                                  << options.limits.maxModelBytes
                                  << " bytes (--ds-max-model-bytes)";
  }
  return importTensor(init, baseDir, loc, ctx, readFiles);
}

/// A name for a diagnostic, NUL and other unprintable bytes escaped (\00).
static std::string escapedName(StringRef name) {
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::printEscapedString(name, os);
  return out;
}

/// Names reach the artifact and the runtime's C API as C strings: a NUL byte
/// would cut one short and make two names one.
static bool hasNul(StringRef name) { return name.contains('\0'); }

LogicalResult GraphImporter::checkNames(const onnx::GraphProto &graph) {
  auto check = [&](auto &&list, StringRef what, bool unique) -> LogicalResult {
    llvm::StringSet<> seen;
    for (const auto &[index, entry] : llvm::enumerate(list)) {
      if (entry.name().empty())
        return error() << what << " #" << index << " has an empty name";
      if (hasNul(entry.name()))
        return error() << what << " #" << index << " ('" << escapedName(entry.name())
                       << "') has a NUL byte in its name";
      if (unique && !seen.insert(entry.name()).second)
        return error() << what << " '" << entry.name() << "' is listed more than once";
    }
    return success();
  };
  return success(succeeded(check(graph.input(), "graph input", true)) &&
                 succeeded(check(graph.initializer(), "initializer", true)) &&
                 succeeded(check(graph.output(), "graph output", true)));
}

FailureOr<std::vector<size_t>>
GraphImporter::topologicalOrder(const onnx::GraphProto &graph) {
  // Values available before any node runs.
  llvm::StringSet<> available;
  for (const auto &init : graph.initializer())
    available.insert(init.name());
  for (const auto &input : graph.input())
    available.insert(input.name());
  llvm::StringMap<size_t> producer;
  for (const auto &[index, node] : llvm::enumerate(graph.node()))
    for (const auto &out : node.output()) {
      if (out.empty())
        continue;
      if (hasNul(out))
        return mlir::emitError(nodeLoc(node, index))
               << node.op_type() << " output '" << escapedName(out)
               << "' has a NUL byte in its name";
      if (available.contains(out) || !producer.try_emplace(out, index).second)
        return mlir::emitError(nodeLoc(node, index))
               << "value '" << out << "' is defined more than once";
    }
  // Kahn's algorithm: iterative, so deep graphs cannot overflow the stack.
  size_t n = graph.node_size();
  std::vector<size_t> pending(n, 0);
  std::vector<SmallVector<size_t, 2>> users(n);
  for (const auto &[index, node] : llvm::enumerate(graph.node()))
    for (const auto &in : node.input()) {
      if (in.empty() || available.contains(in))
        continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return mlir::emitError(nodeLoc(node, index))
               << node.op_type() << " uses undefined value '" << in
               << "' (not a graph input, initializer or node output)";
      ++pending[index];
      users[it->second].push_back(index);
    }
  std::deque<size_t> ready;
  for (size_t i = 0; i < n; ++i)
    if (!pending[i])
      ready.push_back(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t i = ready.front();
    ready.pop_front();
    order.push_back(i);
    for (size_t user : users[i])
      if (--pending[user] == 0)
        ready.push_back(user);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i]) {
        const auto &node = graph.node(i);
        return mlir::emitError(nodeLoc(node, i))
               << "graph has a cycle through this " << node.op_type() << " node";
      }
  }
  // Longest chain of dependent nodes, in the same order (each node's depth is
  // final before its users are visited).
  std::vector<int64_t> depth(n, 1);
  for (size_t i : order) {
    if (depth[i] > options.limits.maxGraphDepth) {
      const auto &node = graph.node(i);
      return mlir::emitError(nodeLoc(node, i))
             << "graph is deeper than the limit of " << options.limits.maxGraphDepth
             << " dependent nodes at this " << node.op_type()
             << " node (--ds-max-graph-depth)";
    }
    for (size_t user : users[i])
      depth[user] = std::max(depth[user], depth[i] + 1);
  }
  return order;
}

OwningOpRef<ModuleOp> GraphImporter::run(onnx::ModelProto &model) {
  if (!model.has_graph())
    return (error() << "model has no graph", nullptr);
  if (failed(checkOpset(model)))
    return nullptr;
  onnx::GraphProto &graph = *model.mutable_graph();
  if (failed(checkNames(graph)) || failed(checkSupport(graph)))
    return nullptr;
  auto order = topologicalOrder(graph);
  if (failed(order))
    return nullptr;

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());

  // Inputs that are not initializers become function arguments.
  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  llvm::StringMap<ElementsAttr> boundValues;
  // An initializer that is also a graph input is the input's default value
  // (IR v4+): the caller may override it, so it stays an argument unless
  // freezing was asked for (also by importParsed's choice) or it is bound. Up
  // to IR v3 every initializer had to be listed as an input: those are weights.
  bool freezeDefaults = options.inputDefaults == ImportOptions::InputDefaults::Frozen ||
                        model.ir_version() < 4;
  llvm::StringMap<unsigned> defaultedArgs;
  llvm::StringMap<const onnx::ValueInfoProto *> inputInfos;
  llvm::StringSet<> unknownRank;
  for (const auto &input : graph.input()) {
    bool hasDefault = initializerNames.contains(input.name());
    if (hasDefault && freezeDefaults && !options.boundInputs.count(input.name()))
      continue;
    auto bound = options.boundInputs.find(input.name());
    if (bound != options.boundInputs.end()) {
      auto value = readTensorFile(bound->second, input.name(), fileLoc, ctx, readFiles);
      if (failed(value))
        return nullptr;
      boundValues[input.name()] = *value;
      continue;
    }
    if (hasDefault) {
      defaultedArgs[input.name()] = argTypes.size();
      argTypes.push_back(Type()); // the initializer's type, set below
      argNames.push_back(input.name());
      continue;
    }
    FailureOr<RankedTensorType> type = failure();
    if (input.type().has_tensor_type() && !input.type().tensor_type().has_shape() &&
        !options.inputShapes.count(input.name())) {
      type = shapelessInputType(graph, input);
      unknownRank.insert(input.name());
    } else {
      type = valueInfoType(input);
    }
    if (failed(type))
      return nullptr;
    argTypes.push_back(*type);
    argNames.push_back(input.name());
    inputInfos[input.name()] = &input;
  }
  SmallVector<ElementsAttr> defaults(argTypes.size());
  for (auto &init : *graph.mutable_initializer()) {
    auto arg = defaultedArgs.find(init.name());
    if (arg == defaultedArgs.end())
      continue;
    auto attr = importInitializer(init);
    if (failed(attr))
      return nullptr;
    defaults[arg->second] = *attr;
    argTypes[arg->second] = attr->getShapedType();
  }
  for (StringRef name : options.inputShapes.keys())
    if (!llvm::is_contained(argNames, name.str()))
      return (error() << "--ds-input-shape names '" << name
                      << "', which is not an input of the model",
              nullptr);
  for (StringRef name : options.boundInputs.keys())
    if (!boundValues.count(name))
      return (error() << "--ds-bind-input names '" << name
                      << "', which is not an input of the model",
              nullptr);
  auto func = builder.create<func::FuncOp>(fileLoc, "main",
                                           builder.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(i, "ds.name", builder.getStringAttr(name));
    if (defaults[i])
      func.setArgAttr(i, "ds.default", defaults[i]);
    setDimSymbols(func, i, inputInfos.lookup(name));
    if (unknownRank.count(name))
      func.setArgAttr(i, "ds.unknown_rank", builder.getUnitAttr());
    values[name] = body->getArgument(i);
  }
  builder.setInsertionPointToStart(body);
  for (auto &[name, value] : boundValues)
    values[name] = builder.create<ConstantOp>(
        NameLoc::get(StringAttr::get(ctx, name), fileLoc), value);

  for (auto &init : *graph.mutable_initializer()) {
    if (values.count(init.name())) // a defaulted or bound input
      continue;
    auto attr = importInitializer(init);
    if (failed(attr))
      return nullptr;
    values[init.name()] = builder.create<ConstantOp>(
        NameLoc::get(StringAttr::get(ctx, init.name()), fileLoc), *attr);
    initializerValues.insert(values[init.name()]);
  }

  const OpRegistry &registry = OpRegistry::get();
  for (size_t index : *order) {
    const onnx::NodeProto &node = graph.node(index);
    SmallVector<Value> inputs;
    for (const auto &name : node.input())
      inputs.push_back(name.empty() ? Value() : values.lookup(name));
    int64_t since = *resolveSinceVersion(node.op_type(), opset);
    std::string badType = checkInputTypes(node, since, inputs);
    if (!badType.empty())
      return (mlir::emitError(nodeLoc(node, index)) << node.op_type() << ": " << badType, nullptr);
    NodeImporter importer(builder, node, nodeLoc(node, index), opset, since,
                          std::move(inputs), baseDir);
    importer.readFiles = readFiles;
    importer.initializers = &initializerValues;
    if (failed((*registry.lookup(node.op_type(), since))(importer)))
      return nullptr;
    for (int i = 0; i < node.output_size(); ++i) {
      if (node.output(i).empty())
        continue;
      if ((size_t)i >= importer.outputs.size() || !importer.outputs[i])
        return (mlir::emitError(importer.loc)
                    << node.op_type() << ": output " << i << " ('" << node.output(i)
                    << "') is not supported by the importer",
                nullptr);
      auto type = cast<RankedTensorType>(importer.outputs[i].getType());
      if (failed(checkShapeLimits(type.getShape(), options.limits,
                                  [&] { return mlir::emitError(importer.loc); },
                                  node.op_type() + " output '" + node.output(i) + "'")))
        return nullptr;
      values[node.output(i)] = importer.outputs[i];
    }
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &output : graph.output()) {
    Value value = values.lookup(output.name());
    if (!value)
      return (error() << "graph output '" << output.name() << "' is never defined", nullptr);
    // A declared shape is optional; one that is given must be valid (its
    // diagnostic fails the import) and agree with the inferred type.
    if (output.type().has_tensor_type() && output.type().tensor_type().has_shape()) {
      auto declared = valueInfoType(output);
      if (failed(declared))
        return nullptr;
      auto inferred = cast<RankedTensorType>(value.getType());
      bool compatible = declared->getElementType() == inferred.getElementType() &&
                        declared->getRank() == inferred.getRank() &&
                        succeeded(verifyCompatibleShape(*declared, inferred));
      if (!compatible)
        return (error() << "output '" << output.name() << "': inferred type " << inferred
                        << " conflicts with declared type " << *declared,
                nullptr);
    }
    results.push_back(value);
    resultTypes.push_back(value.getType());
  }
  builder.create<func::ReturnOp>(fileLoc, results);
  // Folding while importing leaves constants nobody reads (shape operands,
  // pre-fold inputs); drop them, last first so chains go too.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*body)))
    if (isOpTriviallyDead(&op))
      op.erase();
  func.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, output] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "ds.name", builder.getStringAttr(output.name()));
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}
} // namespace

namespace {
InFlightDiagnostic parseFailure(Location loc) {
  return mlir::emitError(loc) << "failed to parse ONNX model: not a valid ModelProto "
                                 "(truncated, corrupted or not an ONNX file)";
}

InFlightDiagnostic tooLarge(Location loc, uint64_t size, const ImportLimits &limits) {
  return mlir::emitError(loc) << "model file is " << size << " bytes, more than the limit of "
                              << limits.maxModelBytes << " (--ds-max-model-bytes)";
}

/// Graph inputs that are also initializers (IR v4+), other than bound ones.
llvm::SmallVector<std::string> defaultedInputNames(const onnx::ModelProto &model,
                                                   const ImportOptions &options) {
  if (model.ir_version() < 4)
    return {};
  const onnx::GraphProto &graph = model.graph();
  llvm::StringSet<> initializers;
  for (const auto &init : graph.initializer())
    initializers.insert(init.name());
  llvm::SmallVector<std::string> names;
  for (const auto &input : graph.input())
    if (initializers.contains(input.name()) && !options.boundInputs.count(input.name()))
      names.push_back(input.name());
  return names;
}

/// True when a value of the module has a dynamic dim.
bool hasDynamicShapes(ModuleOp module) {
  auto dynamic = [](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    return shaped && !shaped.hasStaticShape();
  };
  WalkResult result = module.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          if (dynamic(arg.getType()))
            return WalkResult::interrupt();
    for (Type type : op->getResultTypes())
      if (dynamic(type))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return result.wasInterrupted();
}

std::string formatNames(llvm::ArrayRef<std::string> names) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < 8; ++i)
    text += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > 8)
    text += " and " + std::to_string(names.size() - 8) + " more";
  return text;
}

OwningOpRef<ModuleOp> importParsed(onnx::ModelProto &model, StringRef modelPath,
                                   uint64_t fileBytes, MLIRContext *context,
                                   const ImportOptions &options,
                                   std::vector<std::string> *readFiles) {
  if (!model.has_graph())
    return (mlir::emitError(FileLineColLoc::get(context, modelPath, 0, 0)) << "model has no graph",
            nullptr);
  using InputDefaults = ImportOptions::InputDefaults;
  auto importWith = [&](onnx::ModelProto &proto, InputDefaults mode) {
    ImportOptions chosen = options;
    chosen.inputDefaults = mode;
    GraphImporter importer(context, chosen, modelPath, fileBytes, readFiles);
    return importer.run(proto);
  };
  Location fileLoc = FileLineColLoc::get(context, modelPath, 0, 0);
  llvm::SmallVector<std::string> defaulted = defaultedInputNames(model, options);
  for (const std::string &name : defaulted)
    if (options.inputShapes.count(name))
      return (mlir::emitError(fileLoc) << "--ds-input-shape names '" << name
                                       << "', an input with a default value (an initializer), "
                                          "whose shape is the initializer's",
              nullptr);
  if (defaulted.empty() || options.inputDefaults != InputDefaults::Auto)
    return importWith(model, options.inputDefaults);
  // Every initializer listed as an input is how exporters write weights
  // with keep_initializers_as_inputs: nobody means to override those.
  if (defaulted.size() > 1 && (int)defaulted.size() == model.graph().initializer_size()) {
    OwningOpRef<ModuleOp> module = importWith(model, InputDefaults::Frozen);
    if (module)
      mlir::emitWarning(fileLoc)
          << "all " << defaulted.size()
          << " initializers are also graph inputs (as exporters write weights with "
             "keep_initializers_as_inputs); they are compiled as constants "
             "(--ds-input-defaults=overridable keeps them inputs the caller may override)";
    return module;
  }
  // Otherwise inputs with defaults stay overridable arguments where the
  // compiler can do without their values; where one decides a shape (a
  // Reshape's target, an axis), which the backends need static today, or the
  // import fails without them, the model is imported again with them frozen.
  // (The trial works on a copy, as the importer takes initializers' bytes:
  // the weights are held twice while it runs.)
  {
    onnx::ModelProto copy = model;
    ScopedDiagnosticHandler quiet(context, [](Diagnostic &) { return success(); });
    OwningOpRef<ModuleOp> module = importWith(copy, InputDefaults::Overridable);
    if (module && !hasDynamicShapes(*module))
      return module;
  }
  OwningOpRef<ModuleOp> module = importWith(model, InputDefaults::Frozen);
  if (!module || hasDynamicShapes(*module))
    return module;
  mlir::emitWarning(fileLoc)
      << "input" << (defaulted.size() == 1 ? " " : "s ") << formatNames(defaulted)
      << (defaulted.size() == 1 ? " has a default value" : " have default values")
      << " (initializer) that the compiler needs as a constant; frozen to "
      << (defaulted.size() == 1 ? "it" : "them") << " (--ds-bind-input binds another value)";
  return module;
}
} // namespace

OwningOpRef<ModuleOp> ds::importONNXFile(StringRef path, MLIRContext *context,
                                         const ImportOptions &options,
                                         std::vector<std::string> *inputFiles) {
  context->loadDialect<DSDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(context, path, 0, 0);
  if (inputFiles)
    inputFiles->push_back(path.str());
  uint64_t size = 0;
  std::string error;
  int fd = openRegularFile(path, size, error);
  if (fd < 0)
    return (mlir::emitError(fileLoc) << "cannot open model file: " << error, nullptr);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  if (size == 0)
    return (mlir::emitError(fileLoc) << "model file is empty", nullptr);
  if (size > options.limits.maxModelBytes)
    return (tooLarge(fileLoc, size, options.limits), nullptr);
  onnx::ModelProto model;
  {
    google::protobuf::io::FileInputStream raw(fd);
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT_MAX);
    if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
      return (parseFailure(fileLoc), nullptr);
  }
  return importParsed(model, path, size, context, options, inputFiles);
}

OwningOpRef<ModuleOp> ds::importONNXBuffer(StringRef bytes, StringRef modelPath,
                                           MLIRContext *context, const ImportOptions &options) {
  context->loadDialect<DSDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(context, modelPath, 0, 0);
  if (bytes.empty())
    return (mlir::emitError(fileLoc) << "model file is empty", nullptr);
  if (bytes.size() > options.limits.maxModelBytes)
    return (tooLarge(fileLoc, bytes.size(), options.limits), nullptr);
  onnx::ModelProto model;
  if (bytes.size() > (size_t)INT_MAX || !model.ParseFromArray(bytes.data(), (int)bytes.size()))
    return (parseFailure(fileLoc), nullptr);
  return importParsed(model, modelPath, bytes.size(), context, options, nullptr);
}
