//===- TensorProto.cpp - reading ONNX TensorProto (.pb) files -------------===//
#include "ds/TensorFiles/InputFile.h"
#include "Npy.h"

#ifdef DS_HAVE_ONNX_PROTO
#include "onnx/onnx.pb.h"

#include <cstring>
#endif

namespace dsrun {

#ifdef DS_HAVE_ONNX_PROTO
namespace {
bool toDType(int32_t onnxType, ds_dtype &out) {
  using onnx::TensorProto;
  switch (onnxType) {
  case TensorProto::FLOAT: out = DS_F32; return true;
  case TensorProto::DOUBLE: out = DS_F64; return true;
  case TensorProto::FLOAT16: out = DS_F16; return true;
  case TensorProto::BFLOAT16: out = DS_BF16; return true;
  case TensorProto::INT64: out = DS_I64; return true;
  case TensorProto::INT32: out = DS_I32; return true;
  case TensorProto::INT16: out = DS_I16; return true;
  case TensorProto::INT8: out = DS_I8; return true;
  case TensorProto::UINT64: out = DS_U64; return true;
  case TensorProto::UINT32: out = DS_U32; return true;
  case TensorProto::UINT16: out = DS_U16; return true;
  case TensorProto::UINT8: out = DS_U8; return true;
  case TensorProto::BOOL: out = DS_BOOL; return true;
  case TensorProto::FLOAT8E4M3FN: out = DS_F8E4M3FN; return true;
  case TensorProto::FLOAT8E5M2: out = DS_F8E5M2; return true;
  case TensorProto::FLOAT8E4M3FNUZ: out = DS_F8E4M3FNUZ; return true;
  case TensorProto::FLOAT8E5M2FNUZ: out = DS_F8E5M2FNUZ; return true;
  case TensorProto::INT4: out = DS_I4; return true;
  case TensorProto::UINT4: out = DS_U4; return true;
  case TensorProto::INT2: out = DS_I2; return true;
  case TensorProto::UINT2: out = DS_U2; return true;
  default: return false;
  }
}

template <typename Field, typename T> void appendField(const Field &field, HostTensor &out) {
  size_t width = ds_dtype_size(out.dtype);
  for (auto v : field) {
    T value = (T)v;
    const unsigned char *p = (const unsigned char *)&value;
    out.data.insert(out.data.end(), p, p + width);
  }
}
} // namespace

bool readTensorProto(const std::string &path, HostTensor &out, std::string &error) {
  InputFile file;
  if (!openInputFile(path, file, error))
    return false;
  std::string bytes(file.size, '\0');
  if (std::fread(bytes.data(), 1, bytes.size(), file.f) != bytes.size())
    return (error = "cannot read '" + path + "'", false);
  onnx::TensorProto tensor;
  if (!tensor.ParseFromString(bytes))
    return (error = "'" + path + "' is not a TensorProto", false);
  if (!toDType(tensor.data_type(), out.dtype))
    return (error = "'" + path + "': unsupported data type " + std::to_string(tensor.data_type()),
            false);
  out.dims.assign(tensor.dims().begin(), tensor.dims().end());
  uint64_t count = 1;
  for (int64_t d : out.dims) {
    if (d < 0)
      return (error = "'" + path + "': negative dim", false);
    // A product that wraps could otherwise match a short payload.
    if (d != 0 && count > UINT64_MAX / 8 / (uint64_t)d)
      return (error = "'" + path + "': dims overflow", false);
    count *= (uint64_t)d;
  }
  size_t width = ds_dtype_size(out.dtype);
  out.data.clear();
  int bits = out.dtype == DS_I4 || out.dtype == DS_U4 ? 4
             : out.dtype == DS_I2 || out.dtype == DS_U2 ? 2 : 0;
  if (bits) {
    // Packed from the low bits up; the runtime keeps one element per byte.
    std::vector<uint8_t> packed;
    if (tensor.has_raw_data())
      packed.assign(tensor.raw_data().begin(), tensor.raw_data().end());
    else
      for (int32_t v : tensor.int32_data())
        packed.push_back((uint8_t)v);
    uint64_t perByte = 8 / bits;
    if (packed.size() != (count + perByte - 1) / perByte)
      return (error = "'" + path + "': packed data size does not match its dims", false);
    bool isSigned = out.dtype == DS_I4 || out.dtype == DS_I2;
    for (uint64_t i = 0; i < count; ++i) {
      int v = (packed[i / perByte] >> ((i % perByte) * bits)) & ((1 << bits) - 1);
      if (isSigned && v >= (1 << (bits - 1)))
        v -= 1 << bits;
      out.data.push_back((unsigned char)(int8_t)v);
    }
    return true;
  }
  if (tensor.has_raw_data()) {
    out.data.assign(tensor.raw_data().begin(), tensor.raw_data().end());
  } else if (out.dtype == DS_F32) {
    appendField<decltype(tensor.float_data()), float>(tensor.float_data(), out);
  } else if (out.dtype == DS_F64) {
    appendField<decltype(tensor.double_data()), double>(tensor.double_data(), out);
  } else if (out.dtype == DS_I64) {
    appendField<decltype(tensor.int64_data()), int64_t>(tensor.int64_data(), out);
  } else if (out.dtype == DS_U64 || out.dtype == DS_U32) {
    for (uint64_t v : tensor.uint64_data())
      out.data.insert(out.data.end(), (unsigned char *)&v, (unsigned char *)&v + width);
  } else {
    for (int32_t v : tensor.int32_data())
      out.data.insert(out.data.end(), (unsigned char *)&v, (unsigned char *)&v + width);
  }
  if (out.data.size() != count * width)
    return (error = "'" + path + "': data size does not match its dims", false);
  return true;
}
#else
bool readTensorProto(const std::string &path, HostTensor &, std::string &error) {
  error = "'" + path + "': this ds-run was built without protobuf, so .pb inputs are unsupported";
  return false;
}
#endif

} // namespace dsrun
