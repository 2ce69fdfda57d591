//===- WeightExport.h - write trained weights back into an ONNX model -*- C++ -*-===//
//
// After training (ds.TrainingSession), the model file the user started from
// with its weights replaced, so that the trained model compiles and runs
// like any other (quantization-aware training ends in an integer model this
// way) and other tools read it.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TARGET_ONNX_WEIGHTEXPORT_H
#define DS_TARGET_ONNX_WEIGHTEXPORT_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ds {

/// A weight's new value: ONNX element type (TensorProto.DataType), dims and
/// little-endian bytes.
struct NamedWeight {
  std::string name;
  int32_t onnxType = 1;
  std::vector<int64_t> dims;
  std::string bytes;
};

/// Writes `source` to `destination` with each named initializer's value
/// replaced. A name that is an Identity copy of an initializer (how PyTorch's
/// exporter shares equal initial values) becomes an initializer of its own
/// and the Identity goes. Refuses (false, `error` set, nothing written)
/// unknown names, other dims or element types, models with external data,
/// and a destination that is the source; writes through a temporary file and
/// a rename.
/// (Plain std types: the Python extension includes this without LLVM.)
bool writeModelWithWeights(const std::string &source, const std::string &destination,
                           const std::vector<NamedWeight> &weights, std::string &error);

} // namespace mlir::ds

#endif // DS_TARGET_ONNX_WEIGHTEXPORT_H
