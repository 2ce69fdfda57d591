//===- DSDialect.h - the ds dialect ----------------------------*- C++ -*-===//
#ifndef DS_DIALECT_DS_IR_DSDIALECT_H
#define DS_DIALECT_DS_IR_DSDIALECT_H

#include "ds-runtime/ds_artifact_format.h"

#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"

#include "ds/Dialect/DS/IR/DSDialect.h.inc"

namespace mlir::OpTrait::ds {
/// The op class trait (DS_OpClass in DSBase.td): carries no code, only the
/// class that ds::getOpClass reports.
template <dsx_op_class Class> struct OpClassTrait {
  template <typename ConcreteType> class Impl : public TraitBase<ConcreteType, Impl> {};
};
/// DS_SelectsElements (DSBase.td): a marker, no code.
template <typename ConcreteType>
class SelectsElements : public TraitBase<ConcreteType, SelectsElements> {};

/// DS_ShapeOfFirstOperand (DSBase.td): a marker, no code.
template <typename ConcreteType>
class ShapeOfFirstOperand : public TraitBase<ConcreteType, ShapeOfFirstOperand> {};
} // namespace mlir::OpTrait::ds

namespace mlir::ds {
/// The class declared on `op` (DS_OpClass); DSX_OP_OTHER for ops without one
/// (constants, fusion groups, other dialects).
dsx_op_class getOpClass(Operation *op);
dsx_op_class getOpClass(OperationName name);
/// The lower-case name of an op class ("elementwise", "data_movement", ...),
/// as options and reports spell it; "other" for DSX_OP_OTHER.
llvm::StringRef stringifyOpClass(dsx_op_class cls);
/// The class named `name`, or std::nullopt for an unknown name.
std::optional<dsx_op_class> parseOpClass(llvm::StringRef name);

/// Marks a ds.constant holding running statistics (a batch norm's mean and
/// variance): part of the model, never a parameter a gradient compile trains
/// by default (frameworks update them by averaging, not by gradients).
inline constexpr llvm::StringLiteral kStatisticAttrName = "ds.statistic";
} // namespace mlir::ds

#endif // DS_DIALECT_DS_IR_DSDIALECT_H
