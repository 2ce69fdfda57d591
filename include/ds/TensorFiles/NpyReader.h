//===- NpyReader.h - reading NumPy .npy files -------------------*- C++ -*-===//
//
// Shared by the runtime's tools (ds-run, ds-calibrate: inputs and samples)
// and the compiler (ds-sparsify-attention's block layout from a file). A
// plain library: no LLVM, and of the runtime only its C API's dtype enum.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TENSORFILES_NPYREADER_H
#define DS_TENSORFILES_NPYREADER_H

#include "ds-runtime/ds_runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dsrun {

struct HostTensor {
  ds_dtype dtype = DS_F32;
  std::vector<int64_t> dims;
  std::vector<unsigned char> data;
};

/// Reads a .npy file (format 1.0-3.0) of bools, ints or floats; big-endian data
/// is byte-swapped and Fortran order transposed; bools are 0 or 1. The header
/// is parsed strictly and the shape checked against the file's size (and
/// `maxElements`) before anything is allocated.
bool readNpy(const std::string &path, HostTensor &out, std::string &error,
             uint64_t maxElements = UINT64_MAX);

/// A NumPy dtype the reader takes: kind ('f', 'i', 'u', 'b'), bytes, ds type.
struct NpyDescr {
  char kind;
  size_t size;
  ds_dtype dtype;
};
/// The descr of a dtype NumPy has (null for bf16, float8, sub-byte ints).
const NpyDescr *npyDescrOf(ds_dtype dtype);
/// A shape as NumPy's header writes it: (), (5,), (2, 3).
std::string npyShapeText(const std::vector<int64_t> &dims);

} // namespace dsrun

#endif // DS_TENSORFILES_NPYREADER_H
