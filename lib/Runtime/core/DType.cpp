//===- DType.cpp - element type facts -------------------------------------===//
#include "core/Tensor.h"
#include "ds-runtime/ds_artifact_format.h"

namespace dsrt {

unsigned codeBits(DType dtype) { return dsx_packed_code_bits(dtype); }

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DS_F64: case DS_I64: case DS_U64: return 8;
  case DS_F32: case DS_I32: case DS_U32: return 4;
  case DS_F16: case DS_BF16: case DS_I16: case DS_U16: return 2;
  case DS_I8: case DS_U8: case DS_BOOL: case DS_F8E4M3FN: case DS_F8E5M2:
  case DS_F8E4M3FNUZ: case DS_F8E5M2FNUZ: case DS_I4: case DS_U4: case DS_I2: case DS_U2:
    return 1;
  }
  return 0;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DS_F32: return "f32";
  case DS_F64: return "f64";
  case DS_F16: return "f16";
  case DS_BF16: return "bf16";
  case DS_I64: return "i64";
  case DS_I32: return "i32";
  case DS_I16: return "i16";
  case DS_I8: return "i8";
  case DS_U64: return "ui64";
  case DS_U32: return "ui32";
  case DS_U16: return "ui16";
  case DS_U8: return "ui8";
  case DS_BOOL: return "i1";
  case DS_F8E4M3FN: return "f8E4M3FN";
  case DS_F8E5M2: return "f8E5M2";
  case DS_F8E4M3FNUZ: return "f8E4M3FNUZ";
  case DS_F8E5M2FNUZ: return "f8E5M2FNUZ";
  case DS_I4: return "i4";
  case DS_U4: return "ui4";
  case DS_I2: return "i2";
  case DS_U2: return "ui2";
  }
  return "unknown";
}

bool isFloat(DType d) {
  return d == DS_F32 || d == DS_F64 || d == DS_F16 || d == DS_BF16 || d == DS_F8E4M3FN ||
         d == DS_F8E5M2 || d == DS_F8E4M3FNUZ || d == DS_F8E5M2FNUZ;
}
bool isSignedInt(DType d) {
  return d == DS_I64 || d == DS_I32 || d == DS_I16 || d == DS_I8 || d == DS_I4 || d == DS_I2;
}
bool isUnsignedInt(DType d) {
  return d == DS_U64 || d == DS_U32 || d == DS_U16 || d == DS_U8 || d == DS_U4 || d == DS_U2;
}

} // namespace dsrt
