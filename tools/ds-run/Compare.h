//===- Compare.h - element decoding and comparison with expected outputs -*- C++ -*-===//
#ifndef DS_TOOLS_DS_RUN_COMPARE_H
#define DS_TOOLS_DS_RUN_COMPARE_H

#include "Npy.h"

#include <string>

namespace dsrun {

bool isFloatType(ds_dtype dtype);

/// Element i of a buffer as a double: every float kind decoded (f16, bf16,
/// the four float8 kinds), ints and bools by value. Sub-byte ints are one per
/// byte, as the runtime keeps them.
double elementAsDouble(const void *data, ds_dtype dtype, size_t i);

/// Compares `got` with `expected`: dtype and dims must be equal; floats match
/// when both are NaN, both the same infinity, or |got - want| <= atol + rtol * |want|;
/// ints and bools match exactly. On a mismatch `report` says what differs,
/// with the first few differing elements and their indices.
bool compareTensor(const ds_tensor &got, const HostTensor &expected, double rtol, double atol,
                   std::string &report);

} // namespace dsrun

#endif // DS_TOOLS_DS_RUN_COMPARE_H
