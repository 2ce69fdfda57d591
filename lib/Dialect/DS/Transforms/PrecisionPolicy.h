//===- PrecisionPolicy.h - which ops mixed precision may lower --*- C++ -*-===//
//
// The default mixed-precision policy (ds-assign-precision) and the names by
// which a calibration run and a later compile of the same model agree on an
// op (ds-insert-precision-probes measures an op under its key, policy=auto
// reads the measurement back under the same key).
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_PRECISIONPOLICY_H
#define DS_DIALECT_DS_TRANSFORMS_PRECISIONPOLICY_H

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

#include <string>

namespace mlir::ds {

/// What the op class (and for a few kinds, the op itself) says about an op.
enum class PrecisionRole {
  Low,    ///< runs in the low type: the work that pays for it
  Fp32,   ///< stays fp32: range or accumulated error, or parameters not data
  Follow, ///< runs in the type of its float inputs
};

struct PrecisionDecision {
  PrecisionRole role;
  const char *reason;
};

/// The default policy, from automatic-mixed-precision practice (contractions
/// low; softmax, norms, reductions and the exploding unary kinds fp32).
PrecisionDecision defaultPrecisionRole(Operation *op);

bool isF32Tensor(Type t);

/// Whether a calibration run measures `op` in the low type: an op the
/// default policy may lower that computes (a contraction, attention, an
/// elementwise or window op, a rotary embedding or a scatter that adds or
/// multiplies; other data movement is exact) with an f32 result and no
/// float operand of another type. Comparisons and arg reductions follow
/// their inputs unmeasured: their results are not floats to compare.
bool isPrecisionCalibrated(Operation *op);

/// Each calibrated op of `func`'s entry block under its key: its ONNX node
/// name (or op name), with `#2`, `#3`... for later ops of the same name, in
/// block order (skipping a key another op has as its own name).
llvm::DenseMap<Operation *, std::string> precisionKeys(func::FuncOp func);

/// `constant`'s f32 values in `low` (f16 / bf16), as the compile converts
/// them: rounded to nearest, finite values past the type's range clamped to
/// its largest finite number (counted in `clamped`). Fails when the
/// constant's bytes are not there.
FailureOr<ElementsAttr> convertF32Constant(ConstantOp constant, FloatType low,
                                           uint64_t &clamped);

} // namespace mlir::ds

#endif // DS_DIALECT_DS_TRANSFORMS_PRECISIONPOLICY_H
