//===- WeightQuantization.cpp - what quantizing a matmul shares -----------===//
#include "WeightQuantization.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ds;

namespace {

/// A [K, N] weight quantized to int8: q = round(w / scale), |q| <= 127
/// (symmetric; -128 unused so that negating a weight negates its code), one
/// scale per column or one for all.
struct QuantizedWeight {
  std::vector<int8_t> values;
  std::vector<float> scales;
};

QuantizedWeight quantizeWeight(const std::vector<float> &w, int64_t K, int64_t N, bool perColumn) {
  QuantizedWeight q;
  q.values.resize(w.size());
  std::vector<float> maxAbs(perColumn ? N : 1, 0.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) {
      float &m = maxAbs[perColumn ? j : 0];
      m = std::max(m, std::fabs(w[k * N + j]));
    }
  for (float m : maxAbs)
    q.scales.push_back(m > 0.0f && std::isfinite(m) ? m / 127.0f : 1.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) {
      float v = std::nearbyint(w[k * N + j] / q.scales[perColumn ? j : 0]);
      q.values[k * N + j] = (int8_t)std::clamp(std::isnan(v) ? 0.0f : v, -127.0f, 127.0f);
    }
  return q;
}

/// The constant weight `rhs` reads, through a [1, 0] transpose, when only
/// matmuls read it: a weight that other ops read too (an output projection
/// tied to the embedding table a gather reads) stays f32, since an int8 copy
/// would add to the model instead of shrinking it.
bool findConstantWeight(Value rhs, ConstantOp &constant, TransposeOp &transpose) {
  transpose = rhs.getDefiningOp<TransposeOp>();
  if (transpose) {
    if (transpose.getPerm() != ArrayRef<int64_t>{1, 0} || !transpose->hasOneUse())
      return false;
    rhs = transpose.getInput();
  }
  constant = rhs.getDefiningOp<ConstantOp>();
  if (!constant)
    return false;
  for (Operation *user : constant->getUsers())
    if (!isa<MatMulOp>(user) && !(transpose && isa<TransposeOp>(user)))
      return false;
  return true;
}

/// The calibration table's name of every matmul and convolution, from one
/// walk over both (so a matmul and a convolution of one node name differ):
/// the node name, `#n` for the n-th later op of the same name.
llvm::DenseMap<Operation *, std::string> tableKeys(func::FuncOp func) {
  llvm::DenseMap<Operation *, std::string> keys;
  llvm::StringMap<unsigned> seen;
  func.walk([&](Operation *op) {
    if (!isa<MatMulOp, ConvOp>(op))
      return;
    std::optional<StringRef> node = getNodeName(op->getLoc());
    std::string key = node ? node->str() : op->getName().getStringRef().str();
    if (unsigned repeat = seen[key]++)
      key += "#" + std::to_string(repeat);
    keys[op] = key;
  });
  return keys;
}

} // namespace

SmallVector<QuantizableMatMul> ds::findQuantizableMatMuls(func::FuncOp func,
                                                          const llvm::StringSet<> &excludedNodes,
                                                          int64_t minWeights) {
  SmallVector<QuantizableMatMul> found;
  llvm::DenseMap<Operation *, std::string> keys = tableKeys(func);
  func.walk([&](MatMulOp op) {
    std::string key = keys.lookup(op);
    std::optional<StringRef> node = getNodeName(op.getLoc());
    if (node && excludedNodes.contains(*node))
      return;
    auto x = cast<RankedTensorType>(op.getLhs().getType());
    auto w = cast<RankedTensorType>(op.getRhs().getType());
    if (!x.getElementType().isF32() || x.getRank() < 2 || w.getRank() != 2 ||
        !w.hasStaticShape() || w.getNumElements() < minWeights ||
        op.getLhs().getDefiningOp<ConstantOp>())
      return;
    QuantizableMatMul matmul{op, {}, {}, key};
    if (findConstantWeight(op.getRhs(), matmul.weight, matmul.transpose))
      found.push_back(matmul);
  });
  return found;
}

SmallVector<QuantizableConv> ds::findQuantizableConvs(func::FuncOp func,
                                                      const llvm::StringSet<> &excludedNodes,
                                                      int64_t minWeights) {
  SmallVector<QuantizableConv> found;
  llvm::DenseMap<Operation *, std::string> keys = tableKeys(func);
  func.walk([&](ConvOp op) {
    std::string key = keys.lookup(op);
    std::optional<StringRef> node = getNodeName(op.getLoc());
    if (node && excludedNodes.contains(*node))
      return;
    auto x = cast<RankedTensorType>(op.getInput().getType());
    auto w = cast<RankedTensorType>(op.getWeight().getType());
    auto weight = op.getWeight().getDefiningOp<ConstantOp>();
    if (!x.getElementType().isF32() || !w.hasStaticShape() || w.getNumElements() < minWeights ||
        !weight || op.getInput().getDefiningOp<ConstantOp>() ||
        (op.getBias() && !cast<RankedTensorType>(op.getBias().getType()).getElementType().isF32()))
      return;
    if (llvm::any_of(weight->getUsers(), [](Operation *user) { return !isa<ConvOp>(user); }))
      return;
    found.push_back({op, weight, key});
  });
  return found;
}

bool ds::replaceWithIntegerConv(QuantizableConv &conv, Value xq, Value zx, Value sx) {
  ConvOp op = conv.op;
  std::optional<std::vector<float>> weights = readF32Constant(conv.weight.getValue());
  // A constant activation scale folds into the weights' scales; one known
  // at run time (dynamic quantization) multiplies them there.
  auto fixed = sx.getDefiningOp<ConstantOp>();
  auto fixedScale = fixed ? dyn_cast<DenseElementsAttr>(fixed.getValue()) : DenseElementsAttr();
  if (!weights || (fixedScale && !fixedScale.isSplat()))
    return false;
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t M = wType.getDimSize(0), perChannel = wType.getNumElements() / std::max<int64_t>(M, 1);
  // Symmetric int8 per output channel (a row of `perChannel` values).
  std::vector<int8_t> q(weights->size());
  std::vector<float> scales(M);
  for (int64_t m = 0; m < M; ++m) {
    float maxAbs = 0.0f;
    for (int64_t i = 0; i < perChannel; ++i)
      maxAbs = std::max(maxAbs, std::fabs((*weights)[m * perChannel + i]));
    float scale = maxAbs > 0.0f && std::isfinite(maxAbs) ? maxAbs / 127.0f : 1.0f;
    for (int64_t i = 0; i < perChannel; ++i) {
      float v = std::nearbyint((*weights)[m * perChannel + i] / scale);
      q[m * perChannel + i] = (int8_t)std::clamp(std::isnan(v) ? 0.0f : v, -127.0f, 127.0f);
    }
    scales[m] = fixedScale ? scale * fixedScale.getSplatValue<float>() : scale;
  }
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value wq = b.create<ConstantOp>(
      loc, makeConstant(wType.clone(b.getIntegerType(8)), ArrayRef<int8_t>(q), "quantized_weight"));
  auto resultType = cast<RankedTensorType>(op.getType());
  Value product = b.create<ConvIntegerOp>(loc, resultType.clone(b.getI32Type()), xq, wq, zx,
                                          Value(), op.getStridesAttr(), op.getPadsAttr(),
                                          op.getDilationsAttr(), op.getGroupAttr());
  Value result = b.create<CastOp>(loc, resultType, product, UnitAttr());
  // [M, 1, ...]: broadcast over the channels of [N, M, spatial...].
  SmallVector<int64_t> channelShape(resultType.getRank() - 1, 1);
  channelShape[0] = M;
  auto channelType = RankedTensorType::get(channelShape, b.getF32Type());
  Value scale = b.create<ConstantOp>(loc, DenseElementsAttr::get(channelType,
                                                                 ArrayRef<float>(scales)));
  if (!fixedScale) // sx * sw: [M, 1, ...] once, not per element
    scale = b.create<BinaryOp>(loc, BinaryKind::mul, sx, scale);
  result = b.create<BinaryOp>(loc, BinaryKind::mul, result, scale);
  if (Value bias = op.getBias()) {
    auto shapeType = RankedTensorType::get({(int64_t)channelShape.size()}, b.getI64Type());
    Value dims = b.create<ConstantOp>(
        loc, DenseElementsAttr::get(shapeType, ArrayRef<int64_t>(channelShape)));
    Value shaped = b.create<ReshapeOp>(loc, channelType, bias, dims, UnitAttr());
    result = b.create<BinaryOp>(loc, BinaryKind::add, result, shaped);
  }
  op.replaceAllUsesWith(result);
  op.erase();
  if (conv.weight->use_empty())
    conv.weight->erase();
  return true;
}

template <typename T>
ElementsAttr ds::makeConstant(RankedTensorType type, ArrayRef<T> values, StringRef blobName) {
  if (values.size() >= 4096)
    return DenseResourceElementsAttr::get(type, blobName,
                                          HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
  return DenseElementsAttr::get(type, values);
}
template ElementsAttr ds::makeConstant<int8_t>(RankedTensorType, ArrayRef<int8_t>, StringRef);
template ElementsAttr ds::makeConstant<float>(RankedTensorType, ArrayRef<float>, StringRef);

LogicalResult ds::loadCalibrationTable(MLIRContext *context, StringRef path, const char *pass,
                                       ds_calibration::Table &table) {
  if (path.empty())
    return emitError(UnknownLoc::get(context))
           << pass << " needs a calibration table (table=<file>, written by ds-calibrate)";
  auto error = [&] { return emitError(FileLineColLoc::get(context, path, 0, 0)); };
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return error() << "cannot read the calibration table: " << buffer.getError().message();
  std::string message;
  if (!ds_calibration::parseTable((*buffer)->getBuffer().str(), table, message))
    return error() << "bad calibration table: " << message;
  return success();
}

std::optional<std::vector<float>> ds::readWeight(QuantizableMatMul &matmul) {
  std::optional<std::vector<float>> weights = readF32Constant(matmul.weight.getValue());
  if (!weights || !matmul.transpose)
    return weights;
  auto wType = cast<RankedTensorType>(matmul.op.getRhs().getType());
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  std::vector<float> t(weights->size()); // [N, K] -> [K, N]
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      t[k * N + n] = (*weights)[n * K + k];
  return t;
}

bool ds::replaceWithIntegerMatMul(QuantizableMatMul &matmul, Value xq, Value zx, Value sx,
                                  bool perColumn) {
  MatMulOp op = matmul.op;
  std::optional<std::vector<float>> weights = readWeight(matmul);
  if (!weights)
    return false;
  auto wType = cast<RankedTensorType>(op.getRhs().getType());
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  QuantizedWeight q = quantizeWeight(*weights, K, N, perColumn);
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto qType = RankedTensorType::get({K, N}, b.getIntegerType(8));
  Value wq = b.create<ConstantOp>(
      loc, makeConstant(qType, ArrayRef<int8_t>(q.values), "quantized_weight"));
  auto sType = perColumn ? RankedTensorType::get({N}, b.getF32Type())
                         : RankedTensorType::get({}, b.getF32Type());
  // A fixed activation scale (static quantization) folds into the weight
  // scales here; a run-time one (dynamic) is multiplied in at run time.
  DenseElementsAttr fixedScale;
  if (auto constant = sx.getDefiningOp<ConstantOp>())
    fixedScale = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (fixedScale && fixedScale.isSplat())
    for (float &scale : q.scales)
      scale *= fixedScale.getSplatValue<float>();
  Value sw = b.create<ConstantOp>(loc, DenseElementsAttr::get(sType, ArrayRef<float>(q.scales)));
  auto resultType = cast<RankedTensorType>(op.getType());
  Value product = b.create<MatMulIntegerOp>(loc, resultType.clone(b.getI32Type()), xq, wq, zx,
                                            Value());
  Value asFloat = b.create<CastOp>(loc, resultType, product, UnitAttr());
  Value scale = fixedScale && fixedScale.isSplat()
                    ? sw
                    : b.create<BinaryOp>(loc, BinaryKind::mul, sx, sw).getResult();
  op.replaceAllUsesWith(b.create<BinaryOp>(loc, BinaryKind::mul, asFloat, scale).getResult());
  op.erase();
  if (matmul.transpose && matmul.transpose->use_empty())
    matmul.transpose->erase();
  if (matmul.weight->use_empty())
    matmul.weight->erase();
  return true;
}
