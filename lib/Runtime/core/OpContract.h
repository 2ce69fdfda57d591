//===- OpContract.h - the step attributes each CPU op accepts ---*- C++ -*-===//
//
// The runtime's side of include/ds-runtime/ds_op_attributes.def: a loaded cpu
// artifact's steps are checked against it before anything runs, so a kernel
// never sees a missing, mistyped, unknown or out-of-range attribute.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_OPCONTRACT_H
#define DS_RUNTIME_CORE_OPCONTRACT_H

#include "core/Tensor.h"
#include "ds-runtime/ds_artifact_format.h"

#include <string>
#include <vector>

namespace dsrt {

struct AttrContract {
  const char *name;
  Attribute::Kind kind;
  bool required;
  int64_t min, max;    ///< inclusive range of an Int
  const char *allowed; ///< '|'-separated spellings of a String; "" = any
};

struct OpContract {
  const char *op;
  dsx_op_class opClass; ///< the class the compiler declares (DS_OpClass)
  std::vector<AttrContract> attrs;
};

/// Every op of ds_op_attributes.def, in its order.
const std::vector<OpContract> &opContracts();
/// The contract of `op` ("ds.softmax"), or null.
const OpContract *findOpContract(const std::string &op);

/// "int", "float", "ints", "floats", "string", "tensor".
const char *attributeKindName(Attribute::Kind kind);

/// Checks `attrs` against `op`'s contract: every required attribute present
/// with its kind, no attribute the contract does not list, ints in range and
/// strings among the allowed spellings. The message names the attribute
/// ("attribute 'axis' has kind string, expected int"); the caller adds the step.
Status checkStepAttributes(const std::string &op, const Attributes &attrs);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_OPCONTRACT_H
