//===- EmulateFp8.h - ds-assign-precision's fp8 policy ----------*- C++ -*-===//
#ifndef DS_DIALECT_DS_TRANSFORMS_EMULATEFP8_H
#define DS_DIALECT_DS_TRANSFORMS_EMULATEFP8_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::ds {

/// The fp8 policy: the data operands of every contraction and attention op
/// (not blocked by class or node) are rounded to f8E4M3FN with one scale per
/// tensor (amax / 448), the way fp8 GEMMs see them, and the op computes in
/// f32 on the rounded values. Constant weights are stored in fp8 (a quarter
/// of f32) and dequantized at run time; activations get their scale from
/// their own maximum at run time. On the CPU this measures what fp8 costs in
/// accuracy; a GPU target runs the same graph on fp8 tensor cores.
/// `keepReason` says why an op whose data operands are f32 stays fp32 (an
/// empty string: it does not); with a non-empty `note` the report appends it
/// to the op's fp8 line. One report line per op when `report` is given.
void emulateFp8(func::FuncOp func,
                llvm::function_ref<std::string(Operation *, std::string &note)> keepReason,
                llvm::raw_ostream *report);

/// The operands of `op` that an fp8 GEMM reads (q, k, v of attention, not
/// its mask; every einsum operand; the first two of other contractions, not
/// a bias or zero points). Empty for every other op.
SmallVector<unsigned> fp8DataOperands(Operation *op);

/// Whether the fp8 policy rounds `op`: it has fp8 data operands and each is
/// an f32 tensor.
bool isFp8Candidate(Operation *op);

/// `x` (an f32 tensor) rounded to f8E4M3FN with one scale, back in f32, built
/// at `b`'s insertion point: a constant is stored in fp8 with its scale
/// (amax / 448, computed here), anything else takes its scale from its own
/// maximum at run time.
Value roundToFp8(OpBuilder &b, Location loc, Value x);

} // namespace mlir::ds

#endif // DS_DIALECT_DS_TRANSFORMS_EMULATEFP8_H
