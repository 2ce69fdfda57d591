//===- Npy.h - NumPy .npy files and ONNX tensors for the tools --*- C++ -*-===//
#ifndef DS_TOOLS_DS_RUN_NPY_H
#define DS_TOOLS_DS_RUN_NPY_H

#include "ds-runtime/ds_runtime.h"
#include "ds/TensorFiles/NpyReader.h"

#include <string>
#include <vector>

namespace dsrun {

/// Writes under a temporary name in the same directory, then renames. Types
/// NumPy has no dtype for are written as their storage: bf16 and float8 as
/// raw bits (uint16 / uint8), i4 / ui4 / i2 / ui2 one value per byte (int8 /
/// uint8).
bool writeNpy(const std::string &path, const ds_tensor &tensor, std::string &error);
/// The inverse for an input: a tensor read as the storage of `want` (as
/// writeNpy writes it) takes `want` as its type; sub-byte values are checked
/// to fit. Other tensors are left for the runtime to check.
bool adoptStorageDtype(HostTensor &tensor, ds_dtype want, std::string &error);

/// Reads a serialized ONNX TensorProto (the node-test .pb format); false with
/// a message when this build has no protobuf support or the file is bad.
bool readTensorProto(const std::string &path, HostTensor &out, std::string &error);

/// readNpy for a name ending in .npy, readTensorProto otherwise.
bool readTensorFile(const std::string &path, HostTensor &out, std::string &error);

} // namespace dsrun

#endif // DS_TOOLS_DS_RUN_NPY_H
