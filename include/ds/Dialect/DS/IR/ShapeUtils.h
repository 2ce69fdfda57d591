//===- ShapeUtils.h - shape helpers shared by ds ops and importers -*- C++ -*-===//
#ifndef DS_DIALECT_DS_IR_SHAPEUTILS_H
#define DS_DIALECT_DS_IR_SHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeRange.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>

namespace mlir::ds {

/// The integer contents of `value` when it is defined by a constant of any
/// integer type (small shape tensors, axes, k, ...).
std::optional<llvm::SmallVector<int64_t>> getConstantInts(Value value);

/// Entries of a 1-D integer shape tensor as far as they are known at compile
/// time: looks through ds.concat of constants and ds.shape slices; unknown
/// entries are ShapedType::kDynamic. Nullopt when even the length is unknown.
std::optional<llvm::SmallVector<int64_t>> getPartialConstantInts(Value value);

/// Floating-point contents of a constant (scales, scalars).
std::optional<llvm::SmallVector<double>> getConstantFloats(Value value);

/// Numpy broadcast of two shapes; `?` dims stay `?` unless the other is >1.
/// Returns false when the shapes cannot broadcast.
bool broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs,
                     llvm::SmallVectorImpl<int64_t> &result);

/// Maps `axis` in [-rank, rank) to [0, rank); nullopt when out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// Product of dims, nullopt when any dim is dynamic or the product overflows.
std::optional<int64_t> staticElementCount(llvm::ArrayRef<int64_t> shape);

/// True when `type` is a statically shaped tensor of exactly one element.
bool holdsOneElement(Type type);

/// Same element types and shapes that agree wherever both dims are static.
bool areCompatibleTensorTypes(TypeRange lhs, TypeRange rhs);

/// "2x?x4" for diagnostics.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

} // namespace mlir::ds

#endif // DS_DIALECT_DS_IR_SHAPEUTILS_H
