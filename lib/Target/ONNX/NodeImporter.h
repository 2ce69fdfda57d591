//===- NodeImporter.h - per-node import context and op registry -*- C++ -*-===//
//
// Each ONNX op type has an import function taking a NodeImporter, which gives
// it the node's inputs, attributes and a builder that infers, diagnoses and
// folds every ds op it creates.
//
//===----------------------------------------------------------------------===//
#ifndef DS_LIB_TARGET_ONNX_NODEIMPORTER_H
#define DS_LIB_TARGET_ONNX_NODEIMPORTER_H

#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/onnx.pb.h"

#include <functional>

namespace mlir::ds::onnx_import {

/// ONNX element type -> MLIR type; null for types ds does not support.
Type convertElementType(int32_t onnxType, MLIRContext *ctx);
/// Human-readable ONNX data type name ("FLOAT16").
std::string onnxTypeName(int32_t onnxType);

/// Checks the node's attributes against the ONNX schema of `since`: each must
/// be declared there, with the declared type. Returns what is wrong, or "".
std::string checkAttributes(const onnx::NodeProto &node, int64_t since);

/// Checks the element types of the node's inputs (null = absent) against the
/// type constraints of the schema of `since`: each allowed for its type
/// parameter, and inputs sharing a parameter of one type. Returns what is
/// wrong, or "".
std::string checkInputTypes(const onnx::NodeProto &node, int64_t since,
                            ArrayRef<Value> inputs);

/// Reads a TensorProto (raw, typed fields or external data under `baseDir`)
/// into an ElementsAttr. Large tensors become dense_resource blobs that take
/// over the protobuf's buffer (or an mmap of the external file) without a copy.
/// The external data file read, if any, is appended to `readFiles`.
FailureOr<ElementsAttr> importTensor(onnx::TensorProto &tensor, StringRef baseDir,
                                     Location loc, MLIRContext *ctx,
                                     std::vector<std::string> *readFiles = nullptr);

/// Opens `path` for reading, without blocking, if it is a regular file: a
/// FIFO would block the import forever and a device never end. Returns the
/// descriptor with the file's size, or -1 with `error` set.
int openRegularFile(StringRef path, uint64_t &size, std::string &error);

class NodeImporter {
public:
  NodeImporter(OpBuilder &builder, const onnx::NodeProto &node, Location loc,
               int64_t opset, int64_t since, SmallVector<Value> inputs,
               StringRef baseDir)
      : builder(builder), node(node), loc(loc), opset(opset), since(since),
        inputs(std::move(inputs)), baseDir(baseDir) {}

  OpBuilder &builder;
  const onnx::NodeProto &node;
  Location loc;
  int64_t opset; ///< The model's ai.onnx opset.
  int64_t since; ///< The since-version of this op's schema at that opset.
  SmallVector<Value> inputs;
  StringRef baseDir;
  /// Files the import reads (external data), for callers that must not
  /// overwrite them.
  std::vector<std::string> *readFiles = nullptr;
  /// The graph's initializers, as constants: ops with a float result that
  /// read one of two or more elements (a weight) are not folded at import.
  const llvm::DenseSet<Value> *initializers = nullptr;
  SmallVector<Value> outputs;

  // --- inputs -----------------------------------------------------------
  /// The i-th input, or null when absent or given as "".
  Value input(size_t i) const { return i < inputs.size() ? inputs[i] : Value(); }
  size_t numInputs() const { return inputs.size(); }
  size_t numOutputs() const { return node.output_size(); }
  bool outputUsed(size_t i) const {
    return (int)i < node.output_size() && !node.output(i).empty();
  }
  /// The i-th input, or an error naming it when absent.
  FailureOr<Value> required(size_t i, StringRef what);
  RankedTensorType typeOf(Value v) const { return cast<RankedTensorType>(v.getType()); }

  // --- attributes -------------------------------------------------------
  const onnx::AttributeProto *attr(StringRef name) const;
  bool hasAttr(StringRef name) const { return attr(name) != nullptr; }
  int64_t attrInt(StringRef name, int64_t fallback) const;
  double attrFloat(StringRef name, double fallback) const;
  std::string attrString(StringRef name, StringRef fallback) const;
  SmallVector<int64_t> attrInts(StringRef name) const;
  SmallVector<double> attrFloats(StringRef name) const;

  /// Integer values of input i when constant (axes, shapes, pads...); an
  /// input that holds no elements by its type has none whatever a run binds.
  std::optional<SmallVector<int64_t>> inputInts(size_t i) const {
    if (!input(i))
      return std::nullopt;
    auto type = dyn_cast<RankedTensorType>(input(i).getType());
    if (type && type.hasStaticShape() && type.getNumElements() == 0)
      return SmallVector<int64_t>{};
    return getConstantInts(input(i));
  }
  /// Integer values of input i, which must be constant.
  FailureOr<SmallVector<int64_t>> requireConstInts(size_t i, StringRef what);

  // --- diagnostics ------------------------------------------------------
  InFlightDiagnostic error();

  // --- building ---------------------------------------------------------
  /// Creates an op whose result types are inferred; reports a failed
  /// inference at the node and returns null. Constant results are folded.
  template <typename OpTy, typename... Args>
  Value create(Args &&...args) {
    auto results = createN<OpTy, 1>(std::forward<Args>(args)...);
    return results.empty() ? Value() : results.front();
  }
  template <typename OpTy, size_t N, typename... Args>
  SmallVector<Value> createN(Args &&...args) {
    return createImpl<OpTy>(std::make_index_sequence<N>{}, std::forward<Args>(args)...);
  }
  /// Creates an op with an explicit result type (cast, quantize, ...).
  template <typename OpTy, typename... Args>
  Value createTyped(Type resultType, Args &&...args) {
    OperationState state(loc, OpTy::getOperationName());
    OpTy::build(builder, state, resultType, std::forward<Args>(args)...);
    auto results = finish(state, /*infer=*/false);
    return results.empty() ? Value() : results.front();
  }

  /// Constants.
  Value constInts(ArrayRef<int64_t> values, bool scalar = false);
  Value constScalar(Type elementType, double value);
  Value constAttr(ElementsAttr value);

  // Shorthands for frequent ops.
  Value binary(BinaryKind kind, Value a, Value b) { return create<BinaryOp>(kind, a, b); }
  Value unary(UnaryKind kind, Value x) {
    return create<UnaryOp>(kind, x, FloatAttr(), FloatAttr());
  }
  Value castTo(Value x, Type element);
  /// Reshape to a fully known shape (dims may use 0 = copy).
  Value reshape(Value x, ArrayRef<int64_t> shape) {
    return create<ReshapeOp>(x, constInts(shape), false);
  }
  /// Removes / inserts unit dims at sorted, normalized positions.
  Value squeeze(Value x, ArrayRef<int64_t> axes);
  Value unsqueeze(Value x, ArrayRef<int64_t> axes);
  /// Reshape to `shape` (static sizes, -1 for dynamic) where dynamic result
  /// dim i is input dim `from[i]`; any number of dims may be dynamic.
  Value reshapeCopyingDims(Value x, ArrayRef<int64_t> shape, ArrayRef<int64_t> from);
  Value transpose(Value x, ArrayRef<int64_t> perm) { return create<TransposeOp>(x, perm); }
  Value reduce(ReduceKind kind, Value x, ArrayRef<int64_t> axes, bool keepdims) {
    return create<ReduceOp>(kind, x, axes, keepdims);
  }

  void setOutputs(ArrayRef<Value> values) { outputs.assign(values.begin(), values.end()); }
  /// Sets the node's outputs; fails when one is null (its error was reported
  /// when the op that should have produced it failed).
  LogicalResult produce(ArrayRef<Value> values) {
    if (llvm::any_of(values, [](Value v) { return !v; }))
      return failure();
    setOutputs(values);
    return success();
  }

private:
  template <typename OpTy, size_t... I, typename... Args>
  SmallVector<Value> createImpl(std::index_sequence<I...>, Args &&...args) {
    OperationState state(loc, OpTy::getOperationName());
    Type placeholder = builder.getNoneType();
    OpTy::build(builder, state, ((void)I, placeholder)..., std::forward<Args>(args)...);
    return finish(state, /*infer=*/true);
  }
  SmallVector<Value> finish(OperationState &state, bool infer);
};

/// Strides, pads (all begins, then all ends) and dilations of a windowed op
/// (Conv, ConvTranspose, pooling), with auto_pad resolved against `input`.
struct WindowAttrs {
  SmallVector<int64_t> kernel, strides, pads, dilations;
};
/// Reads the node's window attributes for `kernel`. ConvTranspose
/// (`transposed`) resolves SAME padding from its output size itself.
FailureOr<WindowAttrs> readWindowAttrs(NodeImporter &n, RankedTensorType input,
                                       ArrayRef<int64_t> kernel, bool transposed = false);

/// The window of a convolution: its kernel (`kernel_shape`, else W's trailing
/// dims) and the node's window attributes. Fails (diagnosed) unless X and W
/// have the same rank >= 3.
FailureOr<WindowAttrs> readConvWindow(NodeImporter &n, RankedTensorType input,
                                      RankedTensorType weight, bool transposed = false);

/// `axes` made non-negative against `rank`, in the order given; a diagnostic
/// at the node when one is out of range or repeated.
FailureOr<SmallVector<int64_t>> normalizeAxesInOrder(NodeImporter &n, ArrayRef<int64_t> axes,
                                                     int64_t rank);

/// Shape ops whose axes or sizes are a 1-D tensor of static length that only
/// a run knows (ValueShapeImporters.cpp): the shapes are computed with ds
/// ops and checked by ds.assert. Null (diagnosed) on failure.
Value unsqueezeByValue(NodeImporter &n, Value x, Value axes);
Value squeezeByValue(NodeImporter &n, Value x, Value axes);
SmallVector<Value> splitByValue(NodeImporter &n, Value x, int64_t axis, Value sizes);
/// Pad's pads for the given axes (both run-time vectors) spread over all
/// `rank` dims: begins then ends, zero for the dims no axis names.
Value expandPadsByValue(NodeImporter &n, Value pads, Value axes, int64_t rank);
/// Resize's sizes for `axes` (normalized, in the node's order) as all `rank`
/// sizes, the other dims kept; with keep_aspect_ratio_policy `policy` other
/// than "stretch", also the one scale per dim that maps coordinates (else
/// null).
std::pair<Value, Value> resizeSizesByValue(NodeImporter &n, Value x, Value sizes,
                                           ArrayRef<int64_t> axes, StringRef policy);
/// Resize's scales for `axes` as all `rank` scales, 1 for the other dims.
Value resizeScalesByValue(NodeImporter &n, Value scales, ArrayRef<int64_t> axes, int64_t rank);
/// Resize's roi for `axes` (begins, then ends) as the roi of all `rank` dims
/// (0 to 1 for the others).
Value resizeRoiForAxes(NodeImporter &n, Value roi, ArrayRef<int64_t> axes, int64_t rank);

using ImportFn = std::function<LogicalResult(NodeImporter &)>;

/// Registry of import functions by ONNX op type (domain ai.onnx).
class OpRegistry {
public:
  static OpRegistry &get();
  /// Registers `fn` for since-versions [minSince, maxSince].
  void add(StringRef opType, int64_t minSince, int64_t maxSince, ImportFn fn);
  /// The import function for `opType` at schema since-version `since`.
  const ImportFn *lookup(StringRef opType, int64_t since) const;

private:
  struct Entry {
    int64_t minSince, maxSince;
    ImportFn fn;
  };
  llvm::StringMap<SmallVector<Entry, 1>> entries;
};

/// Since-version of `opType` at model opset `opset` per the pinned schema;
/// nullopt when the op does not exist at that opset.
std::optional<int64_t> resolveSinceVersion(StringRef opType, int64_t opset);
int64_t maxKnownOpset();

// Registration hooks, one per importer file.
void registerElementwiseImporters(OpRegistry &registry);
void registerNNImporters(OpRegistry &registry);
void registerShapeImporters(OpRegistry &registry);
void registerReductionImporters(OpRegistry &registry);
void registerQuantImporters(OpRegistry &registry);
void registerCompositeImporters(OpRegistry &registry);

/// Every version known to the pinned schema; entries are reviewed against it.
constexpr int64_t kAllVersions = 1 << 20;

} // namespace mlir::ds::onnx_import

#endif // DS_LIB_TARGET_ONNX_NODEIMPORTER_H
