//===- Parameters.h - which constants train, as arguments -------*- C++ -*-===//
//
// A model's trainable parameters become arguments of @main that default to
// their values (`ds.default`), named as their initializers (`ds.name`) and
// marked `ds.parameter`. ds-promote-parameters does it right after import,
// before canonicalization and CSE could fold or merge initializers (two
// all-ones LayerNorm weights are equal constants); ds-autodiff
// differentiates with respect to the marked arguments, or promotes itself
// when there are none.
//
#ifndef DS_LIB_DIALECT_DS_TRANSFORMS_PARAMETERS_H
#define DS_LIB_DIALECT_DS_TRANSFORMS_PARAMETERS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>

namespace mlir::ds::autodiff {

/// Promotes the parameters of `main`: the float constants named in `wanted`,
/// or (none named) every float constant of two or more elements, all finite
/// (not a mask), not running statistics (kStatisticAttrName), with a use
/// gradients flow through. Appends the new arguments and their names.
/// Errors name `pass` and, for an unknown name, the named constants.
LogicalResult promoteParameters(func::FuncOp main, ArrayRef<std::string> wanted,
                                SmallVectorImpl<Value> &args, SmallVectorImpl<std::string> &names,
                                StringRef pass);

/// The arguments marked `ds.parameter`, in order, and their names.
void markedParameters(func::FuncOp main, SmallVectorImpl<Value> &args,
                      SmallVectorImpl<std::string> &names);

} // namespace mlir::ds::autodiff

#endif // DS_LIB_DIALECT_DS_TRANSFORMS_PARAMETERS_H
