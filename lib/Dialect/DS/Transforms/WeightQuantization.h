//===- WeightQuantization.h - what quantizing a weight op shares -*- C++ -*-===//
//
// The compiler's quantization passes (dynamic, static, the calibration
// probes and SmoothQuant that feed static) agree here on which matmuls and
// convolutions they quantize, how each is named in a calibration table, and
// how an int8 op replaces one: the weights quantized at compile time, the
// activation by whichever pass owns it.
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_WEIGHTQUANTIZATION_H
#define DS_DIALECT_DS_TRANSFORMS_WEIGHTQUANTIZATION_H

#include "ds/Calibration/Calibration.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"

#include <string>

namespace mlir::ds {

/// An f32 matmul of an activation (rank >= 2, not a constant) and a constant
/// [K, N] weight: a constant, or the transpose of a constant [N, K] (Gemm
/// with transB), read by matmuls only.
struct QuantizableMatMul {
  MatMulOp op;
  ConstantOp weight;
  /// The [N, K] -> [K, N] transpose between them, if any.
  TransposeOp transpose;
  /// The calibration table's name for its activation: the node name, with
  /// `#n` for the n-th later matmul or convolution of the same name (walk
  /// order over every one, quantizable or not, so the names do not depend on
  /// options).
  std::string key;
};

/// In walk order, without matmuls of an `excludedNodes` node or with fewer
/// than `minWeights` weight elements.
SmallVector<QuantizableMatMul> findQuantizableMatMuls(func::FuncOp func,
                                                      const llvm::StringSet<> &excludedNodes,
                                                      int64_t minWeights);

/// Replaces `matmul.op` by cast(matmul_integer(xq, Wq, zx)) * (sx * sw): the
/// weight quantized here to symmetric int8 (one scale per output column or
/// one for the tensor), `xq` the u8 activation with zero point `zx` and
/// scale `sx` (a constant one is folded into sw here). Leaves the op alone (false) when the weight's bytes are not
/// there.
bool replaceWithIntegerMatMul(QuantizableMatMul &matmul, Value xq, Value zx, Value sx,
                              bool perColumn);

/// An f32 convolution of an activation and a constant weight [M, C/g, k...]
/// read by convolutions only.
struct QuantizableConv {
  ConvOp op;
  ConstantOp weight;
  /// As QuantizableMatMul's (one numbering over both kinds).
  std::string key;
};

SmallVector<QuantizableConv> findQuantizableConvs(func::FuncOp func,
                                                  const llvm::StringSet<> &excludedNodes,
                                                  int64_t minWeights);

/// Replaces `conv.op` by cast(conv_integer(xq, Wq, zx)) * (sx * sw) + bias,
/// the weight quantized here to symmetric int8 with one scale per output
/// channel; a constant `sx` is folded into sw, a run-time one (dynamic
/// quantization) multiplies it. False (op unchanged) when the weight's
/// bytes are not there.
bool replaceWithIntegerConv(QuantizableConv &conv, Value xq, Value zx, Value sx);

/// Reads and parses a calibration table; an error at the file otherwise.
LogicalResult loadCalibrationTable(MLIRContext *context, StringRef path, const char *pass,
                                   ds_calibration::Table &table);

/// The [K, N] values of the matmul's weight (transposed from [N, K] where
/// the weight is); std::nullopt when the constant holds no bytes.
std::optional<std::vector<float>> readWeight(QuantizableMatMul &matmul);

/// A constant of `type` holding `values` (a resource blob when large, as
/// imported weights are).
template <typename T>
ElementsAttr makeConstant(RankedTensorType type, ArrayRef<T> values, StringRef blobName);

} // namespace mlir::ds

#endif // DS_DIALECT_DS_TRANSFORMS_WEIGHTQUANTIZATION_H
