//===- RuntimeContract.h - ds op attributes vs the CPU runtime --*- C++ -*-===//
//
// The compiler's side of include/ds-runtime/ds_op_attributes.def: how the
// artifact writer stores each attribute of a ds op, a check of one op's
// attributes against the table (the writer refuses what fails it), and a
// check of the whole dialect's ODS attributes against it
// (--ds-verify-runtime-contract).
//
//===----------------------------------------------------------------------===//
#ifndef DS_TARGET_ARTIFACT_RUNTIMECONTRACT_H
#define DS_TARGET_ARTIFACT_RUNTIMECONTRACT_H

#include "ds-runtime/ds_artifact_format.h"

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>
#include <string>

namespace mlir::ds {

/// The printed spelling of an enum attribute of a ds op ("add", "mean_var"),
/// which is how the artifact stores enums; nullopt if `name` is no enum.
std::optional<std::string> enumSpelling(Operation *op, StringRef name);

/// The tag the artifact writer stores attribute `name` = `value` of `op`
/// under: enums as strings, bool / unit / integers as int, F64 as float,
/// i64 arrays as ints, strings, elements as tensor; nullopt if it cannot.
std::optional<dsx_attr_tag> stepAttributeTag(Operation *op, StringRef name, Attribute value);

/// "int", "float", "ints", "floats", "string", "tensor".
const char *stepAttributeTagName(dsx_attr_tag tag);

/// Whether ds_op_attributes.def lists `opName` (an op the CPU runtime runs).
bool isRuntimeContractOp(StringRef opName);

/// Checks the attributes `op` would be written with against the contract:
/// every one listed, with its kind, in range / among the allowed spellings,
/// and every required one present. Reports each violation on `op`.
LogicalResult verifyRuntimeContract(Operation *op);

/// What the dialect-wide check compared.
struct RuntimeContractSummary {
  unsigned ops = 0;        ///< ops of the contract
  unsigned attributes = 0; ///< attributes of the contract
};

/// Compares every op of the registered ds dialect with the contract: the
/// ops (each ds op is a CPU step or one of constant / fusion_group / yield),
/// each op's ODS attribute names, the kind the writer would store each as,
/// unit attributes optional, and enum spellings. Reports every mismatch at
/// `loc`.
LogicalResult verifyRuntimeContract(MLIRContext *context, Location loc,
                                    RuntimeContractSummary &summary);

} // namespace mlir::ds

#endif // DS_TARGET_ARTIFACT_RUNTIMECONTRACT_H
