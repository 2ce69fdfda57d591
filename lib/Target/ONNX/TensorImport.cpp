//===- TensorImport.cpp - ONNX TensorProto to ElementsAttr ----------------===//
#include "NodeImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;
using onnx::TensorProto;

namespace {
/// Tensors at least this large become dense_resource blobs; smaller ones stay
/// inline so that folders can read them.
constexpr size_t kResourceThresholdBytes = 4096;

size_t byteWidth(Type element) { return (element.getIntOrFloatBitWidth() + 7) / 8; }

/// Unpacks 4- or 2-bit integers (ONNX packs them from the low bits of each
/// byte up) into an attribute with one APInt per element.
ElementsAttr fromPacked(RankedTensorType type, ArrayRef<uint8_t> bytes, int64_t count) {
  unsigned bits = type.getElementType().getIntOrFloatBitWidth();
  unsigned perByte = 8 / bits;
  SmallVector<APInt> values;
  values.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t raw = (bytes[i / perByte] >> ((i % perByte) * bits)) & ((1u << bits) - 1);
    values.push_back(APInt(bits, raw)); // the bits are already two's complement
  }
  return DenseElementsAttr::get(type, values);
}

/// A blob over `data` that frees it with `owner`.
template <typename Owner>
AsmResourceBlob blobOwning(ArrayRef<char> data, size_t alignment, Owner owner) {
  auto holder = std::make_shared<Owner>(std::move(owner));
  return AsmResourceBlob(data, alignment,
                         [holder](void *, size_t, size_t) mutable { holder.reset(); },
                         /*dataIsMutable=*/false);
}

ElementsAttr fromBytes(RankedTensorType type, ArrayRef<char> bytes) {
  if (type.getElementType().isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : bytes)
      bits.push_back(c != 0);
    return DenseElementsAttr::get(type, bits);
  }
  return DenseElementsAttr::getFromRawBuffer(type, bytes);
}

/// Copies a typed repeated field into little-endian element bytes.
template <typename Field>
std::vector<char> packField(const Field &field, Type element) {
  size_t width = byteWidth(element);
  std::vector<char> bytes(field.size() * width);
  for (int i = 0; i < field.size(); ++i) {
    auto value = field.Get(i);
    if (isa<FloatType>(element) && width >= 4) {
      if (width == 4) {
        float f = (float)value;
        memcpy(&bytes[i * 4], &f, 4);
      } else {
        double d = (double)value;
        memcpy(&bytes[i * 8], &d, 8);
      }
    } else {
      // Integers and 16/8-bit floats stored as their bit patterns.
      uint64_t bits = (uint64_t)value;
      memcpy(&bytes[i * width], &bits, width);
    }
  }
  return bytes;
}
} // namespace

Type onnx_import::convertElementType(int32_t onnxType, MLIRContext *ctx) {
  Builder b(ctx);
  switch (onnxType) {
  case TensorProto::FLOAT: return b.getF32Type();
  case TensorProto::DOUBLE: return b.getF64Type();
  case TensorProto::FLOAT16: return b.getF16Type();
  case TensorProto::BFLOAT16: return b.getBF16Type();
  case TensorProto::FLOAT8E4M3FN: return b.getFloat8E4M3FNType();
  case TensorProto::FLOAT8E5M2: return b.getFloat8E5M2Type();
  case TensorProto::FLOAT8E4M3FNUZ: return b.getFloat8E4M3FNUZType();
  case TensorProto::FLOAT8E5M2FNUZ: return b.getFloat8E5M2FNUZType();
  case TensorProto::INT64: return b.getI64Type();
  case TensorProto::INT32: return b.getI32Type();
  case TensorProto::INT16: return b.getI16Type();
  case TensorProto::INT8: return b.getI8Type();
  case TensorProto::UINT64: return b.getIntegerType(64, false);
  case TensorProto::UINT32: return b.getIntegerType(32, false);
  case TensorProto::UINT16: return b.getIntegerType(16, false);
  case TensorProto::UINT8: return b.getIntegerType(8, false);
  case TensorProto::INT4: return b.getIntegerType(4);
  case TensorProto::UINT4: return b.getIntegerType(4, false);
  case TensorProto::INT2: return b.getIntegerType(2);
  case TensorProto::UINT2: return b.getIntegerType(2, false);
  case TensorProto::BOOL: return b.getI1Type();
  default: return {};
  }
}

std::string onnx_import::onnxTypeName(int32_t onnxType) {
  if (TensorProto::DataType_IsValid(onnxType))
    return TensorProto::DataType_Name((TensorProto::DataType)onnxType);
  return "data type " + std::to_string(onnxType);
}

int onnx_import::openRegularFile(StringRef path, uint64_t &size, std::string &error) {
  int fd = ::open(path.str().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = strerror(errno);
    return -1;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "not a regular file";
    ::close(fd);
    return -1;
  }
  size = (uint64_t)st.st_size;
  return fd;
}

FailureOr<ElementsAttr> onnx_import::importTensor(TensorProto &tensor, StringRef baseDir,
                                                  Location loc, MLIRContext *ctx,
                                                  std::vector<std::string> *readFiles) {
  std::string name = tensor.name().empty() ? "<unnamed>" : tensor.name();
  Type element = convertElementType(tensor.data_type(), ctx);
  if (!element)
    return emitError(loc) << "tensor '" << name << "' has unsupported element type "
                          << onnxTypeName(tensor.data_type());
  SmallVector<int64_t> dims;
  for (int64_t d : tensor.dims()) {
    if (d < 0)
      return emitError(loc) << "tensor '" << name << "' has negative dimension " << d;
    dims.push_back(d);
  }
  auto count = staticElementCount(dims);
  size_t width = byteWidth(element);
  uint64_t bytesNeeded;
  if (!count || __builtin_mul_overflow((uint64_t)*count, (uint64_t)width, &bytesNeeded))
    return emitError(loc) << "tensor '" << name << "' has dims " << formatShape(dims)
                          << " whose element count overflows";
  auto type = RankedTensorType::get(dims, element);
  unsigned bits = element.getIntOrFloatBitWidth();
  if (bits < 8 && bits > 1) {
    // Packed sub-byte integers: raw_data bytes, or one byte per int32_data entry.
    if (tensor.data_location() == TensorProto::EXTERNAL)
      return emitError(loc) << "tensor '" << name << "': external data of "
                            << onnxTypeName(tensor.data_type()) << " is not supported";
    uint64_t packedBytes = ((uint64_t)*count * bits + 7) / 8;
    std::vector<uint8_t> packed;
    if (tensor.has_raw_data())
      packed.assign(tensor.raw_data().begin(), tensor.raw_data().end());
    else
      for (int32_t v : tensor.int32_data())
        packed.push_back((uint8_t)v);
    if (packed.size() != packedBytes)
      return emitError(loc) << "tensor '" << name << "' holds " << packed.size()
                            << " packed bytes but dims " << formatShape(dims) << " of "
                            << element << " need " << packedBytes;
    return fromPacked(type, packed, *count);
  }

  auto makeResource = [&](AsmResourceBlob blob) -> ElementsAttr {
    return DenseResourceElementsAttr::get(type, name, std::move(blob));
  };

  if (tensor.data_location() == TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &entry : tensor.external_data()) {
      if (entry.key() == "location")
        location = entry.value();
      else if (entry.key() == "offset" && !llvm::to_integer(entry.value(), offset, 10))
        return emitError(loc) << "tensor '" << name << "' has a bad external offset";
      else if (entry.key() == "length" && !llvm::to_integer(entry.value(), length, 10))
        return emitError(loc) << "tensor '" << name << "' has a bad external length";
    }
    if (location.empty())
      return emitError(loc) << "tensor '" << name << "' has external data without a location";
    SmallString<256> normalized(location);
    llvm::sys::path::remove_dots(normalized, /*remove_dot_dot=*/true);
    if (llvm::sys::path::is_absolute(location) || StringRef(normalized).starts_with("..") ||
        StringRef(location).contains('\0'))
      return emitError(loc) << "external data location '" << location << "' of tensor '"
                            << name << "' escapes the model directory";
    SmallString<256> path(baseDir);
    llvm::sys::path::append(path, normalized);
    // Symlinks must not lead outside the model directory either.
    SmallString<256> realBase, realPath;
    if (!llvm::sys::fs::real_path(baseDir.empty() ? "." : baseDir, realBase) &&
        !llvm::sys::fs::real_path(path, realPath) &&
        !StringRef(realPath).starts_with((realBase + llvm::sys::path::get_separator()).str()))
      return emitError(loc) << "external data location '" << location << "' of tensor '"
                            << name << "' escapes the model directory";
    // Checked on the open descriptor, so a FIFO (even for zero bytes) never
    // blocks the import and the file cannot change kind under us.
    uint64_t fileSize;
    std::string openError;
    int fd = openRegularFile(path, fileSize, openError);
    if (fd < 0)
      return emitError(loc) << "cannot open external data file '" << location
                            << "' of tensor '" << name << "': " << openError;
    struct FdCloser {
      int fd;
      ~FdCloser() { ::close(fd); }
    } closer{fd};
    if (readFiles)
      readFiles->push_back(path.str().str());
    if (length < 0)
      length = (int64_t)fileSize - offset;
    if (offset < 0 || (uint64_t)offset > fileSize || (uint64_t)length > fileSize - offset)
      return emitError(loc) << "external data of tensor '" << name << "' (offset " << offset
                            << ", length " << length << ") lies outside '" << location
                            << "' of " << fileSize << " bytes";
    if ((uint64_t)length != bytesNeeded)
      return emitError(loc) << "external data of tensor '" << name << "' has " << length
                            << " bytes but dims " << formatShape(dims) << " of " << element
                            << " need " << bytesNeeded;
    auto buffer = llvm::MemoryBuffer::getOpenFileSlice(llvm::sys::fs::convertFDToNativeFile(fd),
                                                       path, length, offset,
                                                       /*IsVolatile=*/false);
    if (!buffer)
      return emitError(loc) << "cannot open external data file '" << location
                            << "' of tensor '" << name << "': " << buffer.getError().message();
    ArrayRef<char> data((*buffer)->getBufferStart(), (*buffer)->getBufferSize());
    if (element.isInteger(1) || (size_t)length < kResourceThresholdBytes ||
        (uintptr_t)data.data() % width != 0)
      return fromBytes(type, data);
    std::shared_ptr<llvm::MemoryBuffer> owner(std::move(*buffer));
    return makeResource(blobOwning(data, width, owner));
  }

  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != bytesNeeded)
      return emitError(loc) << "initializer '" << name << "' raw_data has "
                            << tensor.raw_data().size() << " bytes but dims "
                            << formatShape(dims) << " of " << element << " need "
                            << bytesNeeded;
    if (element.isInteger(1) || bytesNeeded < kResourceThresholdBytes)
      return fromBytes(type, ArrayRef<char>(tensor.raw_data().data(), bytesNeeded));
    // Take over the protobuf's buffer: no copy of the weights.
    std::unique_ptr<std::string> owned(tensor.release_raw_data());
    ArrayRef<char> data(owned->data(), owned->size());
    std::shared_ptr<std::string> owner(std::move(owned));
    return makeResource(blobOwning(data, width, owner));
  }

  std::vector<char> bytes;
  int fieldSize = 0;
  switch (tensor.data_type()) {
  case TensorProto::FLOAT:
    bytes = packField(tensor.float_data(), element);
    fieldSize = tensor.float_data_size();
    break;
  case TensorProto::DOUBLE:
    bytes = packField(tensor.double_data(), element);
    fieldSize = tensor.double_data_size();
    break;
  case TensorProto::INT64:
    bytes = packField(tensor.int64_data(), element);
    fieldSize = tensor.int64_data_size();
    break;
  case TensorProto::UINT64:
  case TensorProto::UINT32:
    bytes = packField(tensor.uint64_data(), element);
    fieldSize = tensor.uint64_data_size();
    break;
  default: // int32_data holds every narrower type, floats as bit patterns
    bytes = packField(tensor.int32_data(), element);
    fieldSize = tensor.int32_data_size();
    break;
  }
  if ((uint64_t)fieldSize != (uint64_t)*count)
    return emitError(loc) << "tensor '" << name << "' holds " << fieldSize
                          << " values but dims " << formatShape(dims) << " need " << *count;
  return fromBytes(type, bytes);
}
