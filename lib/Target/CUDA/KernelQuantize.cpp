//===- KernelQuantize.cpp - ds.quantize / ds.dequantize at one position ---===//
//
// The formulas of cpu/QuantKernels.cpp for integer types: quantize divides
// in the input's precision, rounds half to even, adds the zero point and
// saturates to the result type (NaN gives the zero point); dequantize
// subtracts the zero point in integers and multiplies by the scale. The
// scale / zero-point element of a position: the only one (per tensor), the
// position's axis coordinate (per axis) or its block along the axis.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

/// The saturation bounds of integer type `t` as C literals.
static std::pair<std::string, std::string> integerBounds(IntegerType t) {
  unsigned w = t.getWidth();
  if (t.isUnsigned())
    return {"0", w == 64 ? "18446744073709549568.0" : std::to_string((1ULL << w) - 1) + ".0"};
  if (w == 64)
    return {"-9223372036854775808.0", "9223372036854774784.0"};
  return {"-" + std::to_string(1LL << (w - 1)) + ".0", std::to_string((1LL << (w - 1)) - 1) + ".0"};
}

FailureOr<std::string> KernelWriter::computeQuantize(Operation *op, ArrayRef<std::string> coords) {
  bool quantize = isa<QuantizeOp>(op);
  Value input = op->getOperand(0), scale = op->getOperand(1);
  Value zeroPoint = quantize ? cast<QuantizeOp>(op).getZeroPoint()
                             : cast<DequantizeOp>(op).getZeroPoint();
  int64_t rawAxis = quantize ? (int64_t)cast<QuantizeOp>(op).getAxis()
                             : (int64_t)cast<DequantizeOp>(op).getAxis();
  int64_t block = quantize ? (int64_t)cast<QuantizeOp>(op).getBlockSize()
                           : (int64_t)cast<DequantizeOp>(op).getBlockSize();
  Type intType = cast<RankedTensorType>((quantize ? op->getResult(0) : input).getType())
                     .getElementType();
  Type floatType = cast<RankedTensorType>((quantize ? input : op->getResult(0)).getType())
                       .getElementType();
  int float8 = float8Kind(intType);
  if ((!isa<IntegerType>(intType) || intType.isInteger(1)) && float8 < 0)
    return op->emitError("cuda: '") << op->getName() << "' to or from " << intType
                                    << " is not supported (integer and float8 types only)",
           failure();

  // Coordinates of the scale / zero-point element.
  size_t rank = coords.size();
  int64_t axis = rawAxis < 0 ? rawAxis + (int64_t)rank : rawAxis;
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (!scaleType.hasStaticShape()) // per tensor or per axis is decided by its size
    return op->emitError("cuda: '") << op->getName() << "' needs a scale of static shape",
           failure();
  bool perTensor = block == 0 && scaleType.getNumElements() == 1;
  // Scale and zero point share their element count, not always their rank.
  auto paramCoords = [&](Value v) -> Coords {
    if (perTensor)
      return Coords(dims(v).size(), "0");
    if (block == 0)
      return {coords[axis]};
    Coords c(coords.begin(), coords.end());
    c[axis] = "(" + coords[axis] + " / " + std::to_string(block) + ")";
    return c;
  };
  FailureOr<std::string> x = at(input, coords), s = at(scale, paramCoords(scale));
  if (failed(x) || failed(s))
    return failure();
  std::string zp = "0";
  if (zeroPoint) {
    FailureOr<std::string> z = at(zeroPoint, paramCoords(zeroPoint));
    if (failed(z))
      return failure();
    zp = *z;
  }

  std::string r = fresh("v");
  // Arithmetic in the float side's precision: float, double for f64.
  std::string ft = floatType.isF64() ? "double" : "float";
  if (!quantize) {
    // float8 codes load as their float values; integers subtract exactly.
    std::string diff = float8 >= 0 ? "((" + ft + ")" + *x + " - (" + ft + ")" + zp + ")"
                                   : "(" + ft + ")((long long)" + *x + " - (long long)" + zp + ")";
    line() << computeType(floatType) << " " << r << " = " << diff << " * (" << ft << ")" << *s
           << ";\n";
    return r;
  }
  std::string q = fresh("q");
  line() << "const " << ft << " " << q << " = (" << ft << ")" << *x << " / (" << ft << ")" << *s
         << ";\n";
  if (float8 >= 0) { // the float sum rounded into the format
    line() << "const float " << r << " = ds_round_f8((float)(" << q << " + (" << ft << ")" << zp
           << "), " << float8 << ", " << (cast<QuantizeOp>(op).getSaturate() ? "true" : "false")
           << ");\n";
    return r;
  }
  auto [lo, hi] = integerBounds(cast<IntegerType>(intType));
  line() << "double " << r << "_d = isnan(" << q << ") ? (double)" << zp << " : (double)"
         << (floatType.isF64() ? "rint(" : "rintf(") << q << ") + (double)" << zp << ";\n";
  line() << r << "_d = " << r << "_d < " << lo << " ? " << lo << " : (" << r << "_d > " << hi
         << " ? " << hi << " : " << r << "_d);\n";
  line() << computeType(intType) << " " << r << " = (" << computeType(intType) << ")" << r
         << "_d;\n";
  return r;
}

/// ds.matmul_integer at one output position: the dot product over K of
/// (lhs - lhs_zero_point) and (rhs - rhs_zero_point), exact in int, with
/// numpy matmul broadcasting of the batch dims and 1-D operands. One thread
/// per output; an int8 cuBLASLt GEMM with zero-point corrections is the
/// faster path for large products (not done).
FailureOr<std::string> KernelWriter::computeMatMulInteger(MatMulIntegerOp op,
                                                         ArrayRef<std::string> coords) {
  Dims lhsShape = dims(op.getLhs()), rhsShape = dims(op.getRhs());
  Dims outShape = dims(op.getResult());
  bool lhsVector = lhsShape.size() == 1, rhsVector = rhsShape.size() == 1;
  size_t batch = outShape.size() - (lhsVector ? 0 : 1) - (rhsVector ? 0 : 1);
  ArrayRef<std::string> outBatch = ArrayRef<std::string>(outShape).take_front(batch);
  ArrayRef<std::string> batchCoords = coords.take_front(batch);
  std::string row = lhsVector ? "" : coords[batch];
  std::string col = rhsVector ? "" : coords.back();

  auto scalarOrColumn = [&](Value z, bool column) -> FailureOr<std::string> {
    if (!z)
      return std::string("0");
    bool perColumn = column && !dims(z).empty() && shapeOf(z)[0] != 1;
    return at(z, perColumn ? Coords{col} : Coords(dims(z).size(), "0"));
  };
  FailureOr<std::string> lhsZero = scalarOrColumn(op.getLhsZeroPoint(), false);
  FailureOr<std::string> rhsZero = scalarOrColumn(op.getRhsZeroPoint(), !rhsVector);
  if (failed(lhsZero) || failed(rhsZero))
    return failure();

  // Sums wrap in 32 bits as the CPU's (unsigned: no overflow in C++).
  std::string acc = fresh("acc"), k = fresh("k");
  line() << "unsigned " << acc << " = 0;\n";
  open("for (long long " + k + " = 0; " + k + " < " + lhsShape.back() + "; ++" + k + ")");
  Coords lhsCoords, rhsCoords;
  if (!lhsVector) {
    lhsCoords = broadcastCoords(ArrayRef<std::string>(lhsShape).drop_back(2), outBatch,
                                batchCoords);
    lhsCoords.push_back(row);
  }
  lhsCoords.push_back(k);
  if (!rhsVector)
    rhsCoords = broadcastCoords(ArrayRef<std::string>(rhsShape).drop_back(2), outBatch,
                                batchCoords);
  rhsCoords.push_back(k);
  if (!rhsVector)
    rhsCoords.push_back(col);
  FailureOr<std::string> a = at(op.getLhs(), lhsCoords), b = at(op.getRhs(), rhsCoords);
  if (failed(a) || failed(b))
    return failure();
  line() << acc << " += (unsigned)((" << *a << " - " << *lhsZero << ") * (" << *b << " - "
         << *rhsZero << "));\n";
  close();
  return "(int)" + acc;
}
