//===- EmulateFp8.h - ds-assign-precision's fp8 policy ----------*- C++ -*-===//
#ifndef DS_DIALECT_DS_TRANSFORMS_EMULATEFP8_H
#define DS_DIALECT_DS_TRANSFORMS_EMULATEFP8_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::ds {

/// The fp8 policy: the data operands of every contraction and attention op
/// (not blocked by class or node) are rounded to f8E4M3FN with one scale per
/// tensor (amax / 448), the way fp8 GEMMs see them, and the op computes in
/// f32 on the rounded values. Constant weights are stored in fp8 (a quarter
/// of f32) and dequantized at run time; activations get their scale from
/// their own maximum at run time. On the CPU this measures what fp8 costs in
/// accuracy; a GPU target runs the same graph on fp8 tensor cores.
/// One report line per op when `report` is given.
void emulateFp8(func::FuncOp func, const llvm::DenseSet<unsigned> &blockedClasses,
                const llvm::StringSet<> &blockedNodes, llvm::raw_ostream *report);

} // namespace mlir::ds

#endif // DS_DIALECT_DS_TRANSFORMS_EMULATEFP8_H
