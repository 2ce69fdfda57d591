//===- EmulateFp8.cpp - ds-assign-precision's fp8 policy ------------------===//
#include "EmulateFp8.h"

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {

/// The largest finite f8E4M3FN value: scales map |x|'s maximum onto it.
constexpr float kFp8Max = 448.0f;

Value scalarF32(OpBuilder &b, Location loc, float v) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, ArrayRef<float>(v)));
}

/// A constant rounded to fp8 here: an f8E4M3FN constant and its scale,
/// dequantized to f32 at run time. Null when the values are not readable.
Value fp8Constant(OpBuilder &b, Location loc, ConstantOp constant) {
  std::optional<std::vector<float>> values = readF32Constant(constant.getValue());
  if (!values)
    return Value();
  float amax = 0.0f;
  for (float v : *values)
    if (std::isfinite(v))
      amax = std::max(amax, std::fabs(v));
  // At least FLT_MIN: a tiny amax / 448 would underflow to 0.
  float scale = amax > 0.0f ? std::max(amax / kFp8Max, std::numeric_limits<float>::min()) : 1.0f;
  Type f8 = b.getFloat8E4M3FNType();
  std::vector<uint8_t> bits(values->size());
  for (size_t i = 0; i < values->size(); ++i) {
    llvm::APFloat v((*values)[i] / scale);
    bool lost = false;
    v.convert(llvm::APFloat::Float8E4M3FN(), llvm::APFloat::rmNearestTiesToEven, &lost);
    bits[i] = (uint8_t)v.bitcastToAPInt().getZExtValue();
  }
  auto type = cast<RankedTensorType>(constant.getType());
  auto f8Type = type.clone(f8);
  ElementsAttr attr;
  if (bits.size() >= 4096)
    attr = DenseResourceElementsAttr::get(
        f8Type, "fp8_weight", HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<uint8_t>(bits)));
  else
    attr = DenseElementsAttr::getFromRawBuffer(
        f8Type, ArrayRef<char>((const char *)bits.data(), bits.size()));
  Value q = b.create<ConstantOp>(loc, attr);
  return b.create<DequantizeOp>(loc, type, q, scalarF32(b, loc, scale), Value(),
                                b.getI64IntegerAttr(0), b.getI64IntegerAttr(0));
}

/// x rounded to fp8 at run time with the scale of its own maximum:
/// dequantize(quantize(x, s), s), s = max(|x|) / 448.
Value fp8Activation(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  Value abs = b.create<UnaryOp>(loc, UnaryKind::abs, x, FloatAttr(), FloatAttr());
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    axes.push_back(d);
  Value amax = b.create<ReduceOp>(loc, ReduceKind::max, abs, ArrayRef<int64_t>(axes), false);
  Value scale = b.create<BinaryOp>(loc, BinaryKind::div, amax, scalarF32(b, loc, kFp8Max));
  // An all-zero tensor keeps a usable scale.
  scale = b.create<BinaryOp>(loc, BinaryKind::max, scale, scalarF32(b, loc, 1e-30f));
  Value q = b.create<QuantizeOp>(loc, type.clone(b.getFloat8E4M3FNType()), x, scale, Value(),
                                 b.getI64IntegerAttr(0), b.getI64IntegerAttr(0), b.getUnitAttr());
  return b.create<DequantizeOp>(loc, type, q, scale, Value(), b.getI64IntegerAttr(0),
                                b.getI64IntegerAttr(0));
}

} // namespace

SmallVector<unsigned> ds::fp8DataOperands(Operation *op) {
  dsx_op_class cls = getOpClass(op);
  if (cls == DSX_OP_ATTENTION)
    return {0, 1, 2};
  if (cls != DSX_OP_CONTRACTION)
    return {};
  unsigned count = isa<EinsumOp>(op) ? op->getNumOperands() : 2;
  SmallVector<unsigned> operands;
  for (unsigned i = 0; i < std::min(count, op->getNumOperands()); ++i)
    operands.push_back(i);
  return operands;
}

bool ds::isFp8Candidate(Operation *op) {
  SmallVector<unsigned> operands = fp8DataOperands(op);
  return !operands.empty() && llvm::all_of(operands, [&](unsigned i) {
    auto t = dyn_cast<RankedTensorType>(op->getOperand(i).getType());
    return t && t.getElementType().isF32();
  });
}

Value ds::roundToFp8(OpBuilder &b, Location loc, Value x) {
  if (auto constant = x.getDefiningOp<ConstantOp>())
    if (Value r = fp8Constant(b, loc, constant))
      return r;
  return fp8Activation(b, loc, x);
}

void ds::emulateFp8(func::FuncOp func,
                    llvm::function_ref<std::string(Operation *, std::string &note)> keepReason,
                    llvm::raw_ostream *report) {
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (!fp8DataOperands(op).empty())
      ops.push_back(op);
  });
  unsigned emulated = 0, weights = 0;
  llvm::DenseMap<Value, Value> rounded; // one rounding per value
  for (Operation *op : ops) {
    std::string note;
    std::string why = isFp8Candidate(op) ? keepReason(op, note) : "not f32";
    if (report) {
      *report << getNodeName(op->getLoc()).value_or("-") << " " << opNameWithKind(op) << " ";
      if (!why.empty())
        *report << "fp32 " << why << "\n";
      else
        *report << "fp8 contraction (emulated e4m3)" << (note.empty() ? "" : " (" + note + ")")
                << "\n";
    }
    if (!why.empty())
      continue;
    ++emulated;
    for (unsigned i : fp8DataOperands(op)) {
      Value x = op->getOperand(i);
      Value &r = rounded[x];
      if (!r) {
        OpBuilder b(op);
        // A weight is dequantized just before its first reader (after the
        // constant, every weight's f32 copy would be live from the start);
        // an activation is rounded once, right after it is made.
        bool constant = x.getDefiningOp<ConstantOp>() != nullptr;
        if (!constant) {
          if (Operation *def = x.getDefiningOp())
            b.setInsertionPointAfter(def);
          else
            b.setInsertionPointToStart(&func.getBody().front());
        }
        r = roundToFp8(b, op->getLoc(), x);
        // (An unreadable constant is rounded at run time instead.)
        if (auto dequantize = r.getDefiningOp<DequantizeOp>())
          weights += isa_and_nonnull<ConstantOp>(dequantize->getOperand(0).getDefiningOp());
      }
      op->setOperand(i, r);
    }
  }
  for (auto &[x, r] : rounded)
    if (auto constant = x.getDefiningOp<ConstantOp>(); constant && constant->use_empty())
      constant.erase();
  if (report)
    *report << "summary: " << emulated << " contractions in fp8 (emulated), " << weights
            << " constant operands stored in fp8\n";
}
