//===- CostModel.h - FLOPs, bytes moved and roofline time of ds ops -*- C++ -*-===//
//
// What one run of an op costs: arithmetic operations (a multiply-add counts
// two), the bytes it reads and writes in memory, and the class of arithmetic
// that bounds it (f32, 16-bit floats, fp8, int8). A roofline `Machine`
// turns that into a time: max(flops / peak, bytes / bandwidth). A fusion
// group counts the arithmetic of its body and only the bytes of its own
// operands and results: the values inside stay in cache, which is what
// fusion buys. Queried by the cost report and by rematerialization; it knows
// nothing about either.
//
#ifndef DS_DIALECT_DS_ANALYSIS_COSTMODEL_H
#define DS_DIALECT_DS_ANALYSIS_COSTMODEL_H

#include "mlir/IR/Operation.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::ds {

/// The arithmetic a peak rate applies to.
enum class ArithmeticKind { F32, F16, FP8, Int8, F64 };
llvm::StringRef stringifyArithmeticKind(ArithmeticKind kind);

struct OpCost {
  double flops = 0;
  double bytesRead = 0, bytesWritten = 0;
  ArithmeticKind kind = ArithmeticKind::F32;
  double bytes() const { return bytesRead + bytesWritten; }
};

/// The cost of one run of `op` (a ds op, a fusion group or a func.return:
/// free), or nullopt when a size it depends on is dynamic.
std::optional<OpCost> estimateCost(Operation *op);

/// A roofline: peak arithmetic rates (operations per second) and memory
/// bandwidth (bytes per second).
struct Machine {
  std::string name;
  double f32 = 0, f16 = 0, fp8 = 0, int8 = 0, f64 = 0;
  double bandwidth = 0;

  double peak(ArithmeticKind kind) const;
  /// Roofline seconds of `cost`: max(flops / peak, bytes / bandwidth).
  double seconds(const OpCost &cost) const;
  /// True when the arithmetic, not memory, bounds `cost`.
  bool computeBound(const OpCost &cost) const;
};

/// The CPU this process runs on, with `threads` cores working (0: all):
/// peak rates from the vector units it reports (AVX-512, AVX2 + FMA,
/// AVX512-BF16, VNNI) and its clock; memory bandwidth measured once with a
/// short streaming copy unless `bandwidthGBs` > 0 fixes it.
Machine hostCpu(unsigned threads = 0, double bandwidthGBs = 0);

/// An H200 (SXM): dense tensor-core rates without sparsity (fp32 on CUDA
/// cores, as ds's CUDA backend runs it), HBM3e bandwidth.
Machine h200();

} // namespace mlir::ds

#endif // DS_DIALECT_DS_ANALYSIS_COSTMODEL_H
