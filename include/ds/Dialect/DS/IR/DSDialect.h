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
} // namespace mlir::OpTrait::ds

namespace mlir::ds {
/// The class declared on `op` (DS_OpClass); DSX_OP_OTHER for ops without one
/// (constants, fusion groups, other dialects).
dsx_op_class getOpClass(Operation *op);
dsx_op_class getOpClass(OperationName name);
} // namespace mlir::ds

#endif // DS_DIALECT_DS_IR_DSDIALECT_H
