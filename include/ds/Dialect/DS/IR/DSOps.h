//===- DSOps.h - ds dialect operations -------------------------*- C++ -*-===//
#ifndef DS_DIALECT_DS_IR_DSOPS_H
#define DS_DIALECT_DS_IR_DSOPS_H

#include "ds/Dialect/DS/IR/DSDialect.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>
#include <vector>

#include "ds/Dialect/DS/IR/DSEnums.h.inc"

#define GET_OP_CLASSES
#include "ds/Dialect/DS/IR/DSOps.h.inc"

namespace mlir::ds {
/// The op's name with its kind for kind-carrying ops ("ds.binary add"), for
/// summaries and diagnostics.
std::string opNameWithKind(Operation *op);

/// The ONNX node name an op was imported from (its NameLoc, also inside a
/// fused location), if its location has one.
std::optional<StringRef> getNodeName(Location loc);

/// The values of an f32 constant, dense or held in a resource blob (where
/// large weights live); std::nullopt for other element types or a blob whose
/// bytes are not there.
std::optional<std::vector<float>> readF32Constant(ElementsAttr attr);
/// The stored bytes of a constant (row-major, a byte per element for 2- to
/// 7-bit integers), dense or in a resource blob of whole-byte elements;
/// std::nullopt for splats, i1, sub-byte blobs or a blob whose bytes are
/// not there.
std::optional<std::vector<char>> readConstantBytes(ElementsAttr attr);

/// The kind of fusion group `op` forms on its own: what ds-fuse gives a group
/// of one op, and what the CUDA target wraps an unfused op into. Follows the
/// op's class (getOpClass); quantize / dequantize run as elementwise kernels.
FusionKind singleOpFusionKind(Operation *op);

/// Whether `op` is a ds.quantize / ds.dequantize with one scale (per tensor,
/// not blocked): a function of each element alone, which fusion treats like
/// an elementwise op (QDQ models' requantization joins the contraction's
/// epilogue). Per-axis and blocked ones read scales by position and stay
/// alone.
bool isPerTensorQuantization(Operation *op);

/// How many leading dims of `op`'s result are independent rows: each row of
/// the result reads only the same row of its row-aligned operands (other
/// operands are read whole). A backend may run a fusion group in tiles of
/// rows of these dims. Elementwise ops and per-tensor quantization: all dims; reductions and
/// normalizations: the dims before the first reduced axis; matmul: the batch
/// dims and M; every other op: 0 (it runs whole).
int64_t getParallelLeadingDims(Operation *op);

/// How a backend may run `group` in tiles: its first `headOps` ops (an
/// anchor such as a convolution, with no independent rows, or a matmul)
/// run whole, and
/// the ops after them in tiles of rows of their first `parallelDims` result
/// dims (the smallest getParallelLeadingDims among them; 0: no tiles).
struct GroupTiling {
  unsigned headOps = 0;
  int64_t parallelDims = 0;
};
GroupTiling getGroupTiling(FusionGroupOp group);
} // namespace mlir::ds

#endif // DS_DIALECT_DS_IR_DSOPS_H
