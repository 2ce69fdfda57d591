//===- QuantizeStatic.cpp - int8 ops with calibrated activations ----------===//
//
// ds-quantize-static: post-training static quantization of matmuls and
// convolutions, the activation ranges read from a calibration table
// (lib/Calibration), the weights quantized per output column / channel.
// PrecisionPasses.td has the details.
//
//===----------------------------------------------------------------------===//
#include "WeightQuantization.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

namespace mlir::ds {
#define GEN_PASS_DEF_QUANTIZESTATICPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

namespace cal = ds_calibration;

/// u8 affine parameters mapping [lo, hi] (holding 0) onto [0, 255].
struct ActivationQuantization {
  float scale = 1.0f;
  uint8_t zeroPoint = 0;
};

ActivationQuantization quantizationOf(cal::Range range) {
  ActivationQuantization q;
  // In double: the width of a table's extreme range overflows float, a
  // tiny one underflows to a scale of 0.
  double width = (double)range.hi - (double)range.lo;
  if (!(width > 0.0))
    return q; // only zeros were seen: any scale represents them
  double scale = std::clamp(width / 255.0, (double)std::numeric_limits<float>::min(),
                            (double)std::numeric_limits<float>::max());
  q.scale = (float)scale;
  q.zeroPoint = (uint8_t)std::clamp(std::nearbyint(-(double)range.lo / scale), 0.0, 255.0);
  return q;
}

/// quantize(pool max(x)) -> pool max(quantize(x)) while the quantize reads
/// a max pool's result that nothing else reads, whose input x nothing else
/// reads either (else x stays f32 and a quantize of the larger tensor is
/// added), and every window of which holds an input
/// (PoolOp::isMaxOverInputsOnly): quantizing is
/// non-decreasing (round, then clamp), so the quantized max of a window is
/// the max of its quantized values, and the producer then stores 8-bit
/// values the pool reads, not f32 (a ResNet stem's 2x64x112x112 result).
/// The one difference: a window holding a NaN pools to NaN in f32, which
/// quantizes to the zero point, where the 8-bit pool takes the larger of
/// the zero point and the window's other values.
void hoistAboveMaxPools(QuantizeOp quantize) {
  while (auto pool = quantize.getInput().getDefiningOp<PoolOp>()) {
    if (!pool.isMaxOverInputsOnly() || !pool.getResult().hasOneUse() ||
        !pool.getInput().hasOneUse())
      return;
    // The quantize's scale and zero point were made after the pool.
    for (Value parameter : {quantize.getScale(), quantize.getZeroPoint()})
      if (Operation *def = parameter ? parameter.getDefiningOp() : nullptr)
        if (def->getBlock() == pool->getBlock() && pool->isBeforeInBlock(def))
          def->moveBefore(pool);
    auto tensorOf = [](Value v) { return cast<RankedTensorType>(v.getType()); };
    OpBuilder b(pool);
    Type u8 = tensorOf(quantize.getResult()).getElementType();
    auto below = b.create<QuantizeOp>(
        quantize.getLoc(), tensorOf(pool.getInput()).clone(u8), pool.getInput(),
        quantize.getScale(), quantize.getZeroPoint(), quantize.getAxisAttr(),
        quantize.getBlockSizeAttr(), quantize.getSaturateAttr());
    auto pooled = b.create<PoolOp>(
        pool.getLoc(), tensorOf(pool.getResult()).clone(u8), pool.getKindAttr(),
        below.getResult(), pool.getKernelShapeAttr(), pool.getStridesAttr(), pool.getPadsAttr(),
        pool.getDilationsAttr(), pool.getCeilModeAttr(), pool.getCountIncludePadAttr(),
        pool.getPAttr());
    quantize.getResult().replaceAllUsesWith(pooled.getResult());
    quantize.erase();
    pool.erase();
    quantize = below;
  }
}

struct QuantizeStaticPass : mlir::ds::impl::QuantizeStaticPassBase<QuantizeStaticPass> {
  using QuantizeStaticPassBase::QuantizeStaticPassBase;

  LogicalResult initialize(MLIRContext *context) override {
    cal::Table parsed;
    if (failed(loadCalibrationTable(context, table, "ds-quantize-static", parsed)))
      return failure();
    for (const cal::TableEntry &entry : parsed.entries)
      ranges[entry.name] = entry.range;
    return success();
  }

  /// The ops quantizing one activation, and the union of their ranges.
  struct Readers {
    SmallVector<QuantizableMatMul> matmuls;
    SmallVector<QuantizableConv> convs;
    cal::Range range;
    Location loc;
  };

  /// Adds an op reading `x` under `key`; false (with a warning) when the
  /// table has no range for it.
  bool addReader(llvm::MapVector<Value, Readers> &byActivation, Value x, Operation *op,
                 const std::string &key) {
    auto it = ranges.find(key);
    if (it == ranges.end()) {
      op->emitWarning() << "the calibration table has no range for '" << key
                        << "': this " << op->getName().getStringRef() << " stays f32";
      return false;
    }
    auto [entry, inserted] = byActivation.insert({x, Readers{{}, {}, it->second, op->getLoc()}});
    if (!inserted) {
      entry->second.range.lo = std::min(entry->second.range.lo, it->second.lo);
      entry->second.range.hi = std::max(entry->second.range.hi, it->second.hi);
    }
    return true;
  }

  void runOnOperation() override {
    llvm::StringSet<> excluded;
    for (const std::string &name : excludeNodes)
      excluded.insert(name);
    llvm::MapVector<Value, Readers> byActivation;
    for (QuantizableMatMul &matmul : findQuantizableMatMuls(getOperation(), excluded, minWeights))
      if (addReader(byActivation, matmul.op.getLhs(), matmul.op, matmul.key))
        byActivation.find(matmul.op.getLhs())->second.matmuls.push_back(matmul);
    for (QuantizableConv &conv : findQuantizableConvs(getOperation(), excluded, minWeights))
      if (addReader(byActivation, conv.op.getInput(), conv.op, conv.key))
        byActivation.find(conv.op.getInput())->second.convs.push_back(conv);

    // Every activation's quantize first: replacing an op below erases it,
    // and its result may be another op's activation (conv after conv).
    struct Quantized {
      Value xq, zeroPoint, scale;
    };
    SmallVector<Quantized> quantized;
    for (auto &[x, readers] : byActivation) {
      ActivationQuantization q = quantizationOf(readers.range);
      OpBuilder b(x.getContext());
      if (Operation *def = x.getDefiningOp())
        b.setInsertionPointAfter(def);
      else
        b.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
      Location loc = readers.loc;
      auto scalar = [&](Type type) { return RankedTensorType::get({}, type); };
      Value scale = b.create<ConstantOp>(
          loc, DenseElementsAttr::get(scalar(b.getF32Type()), ArrayRef<float>(q.scale)));
      Type u8 = b.getIntegerType(8, /*isSigned=*/false);
      Value zeroPoint = b.create<ConstantOp>(
          loc, DenseElementsAttr::get(scalar(u8), APInt(8, q.zeroPoint)));
      auto xType = cast<RankedTensorType>(x.getType());
      Value xq = b.create<QuantizeOp>(loc, xType.clone(u8), x, scale, zeroPoint,
                                      b.getI64IntegerAttr(1), b.getI64IntegerAttr(0),
                                      UnitAttr());
      quantized.push_back({xq, zeroPoint, scale});
    }
    for (auto [entry, q] : llvm::zip(byActivation, quantized)) {
      Readers &readers = entry.second;
      bool used = false;
      for (QuantizableMatMul &matmul : readers.matmuls)
        used |= replaceWithIntegerMatMul(matmul, q.xq, q.zeroPoint, q.scale, perColumn);
      for (QuantizableConv &conv : readers.convs)
        used |= replaceWithIntegerConv(conv, q.xq, q.zeroPoint, q.scale);
      if (!used) { // no weight had its bytes
        q.xq.getDefiningOp()->erase();
        q.zeroPoint.getDefiningOp()->erase();
        q.scale.getDefiningOp()->erase();
        continue;
      }
      hoistAboveMaxPools(q.xq.getDefiningOp<QuantizeOp>());
    }
  }

  llvm::StringMap<cal::Range> ranges;
};

} // namespace
