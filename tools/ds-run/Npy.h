//===- Npy.h - reading and writing NumPy .npy files -------------*- C++ -*-===//
#ifndef DS_TOOLS_DS_RUN_NPY_H
#define DS_TOOLS_DS_RUN_NPY_H

#include "ds-runtime/ds_runtime.h"

#include <string>
#include <vector>

namespace dsrun {

struct HostTensor {
  ds_dtype dtype = DS_F32;
  std::vector<int64_t> dims;
  std::vector<unsigned char> data;
};

/// Reads a little-endian, C-ordered .npy file (format 1.0-3.0).
bool readNpy(const std::string &path, HostTensor &out, std::string &error);
bool writeNpy(const std::string &path, const ds_tensor &tensor, std::string &error);

/// Reads a serialized ONNX TensorProto (the node-test .pb format); false with
/// a message when this build has no protobuf support or the file is bad.
bool readTensorProto(const std::string &path, HostTensor &out, std::string &error);

} // namespace dsrun

#endif // DS_TOOLS_DS_RUN_NPY_H
