//===- Tensor.h - runtime tensors, dtypes and step attributes ---*- C++ -*-===//
//
// Internal to the runtime (namespace dsrt); no LLVM/MLIR dependency.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_TENSOR_H
#define DS_RUNTIME_CORE_TENSOR_H

#include "ds-runtime/ds_runtime.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace dsrt {

/// Element types; the numbering is the public ds_dtype's.
using DType = ds_dtype;

/// Bytes per element (bool is one byte; sub-byte integers take one byte each).
size_t dtypeSize(DType dtype);
/// Bits of a sub-byte integer code (4 for i4 / u4, 2 for i2 / u2), else 0.
unsigned codeBits(DType dtype);
/// "f32", "i64", ... (as MLIR spells them).
const char *dtypeName(DType dtype);
bool isFloat(DType dtype);
bool isSignedInt(DType dtype);
bool isUnsignedInt(DType dtype);

/// A dense, row-major tensor view. The runtime owns the memory it points to
/// (arena, constants or caller buffers); kernels never allocate outputs.
struct Tensor {
  DType dtype = DS_F32;
  std::vector<int64_t> shape;
  void *data = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  size_t bytes() const { return (size_t)numel() * dtypeSize(dtype); }
  int64_t rank() const { return (int64_t)shape.size(); }
  template <typename T> T *as() const { return static_cast<T *>(data); }
};

/// Result of a fallible runtime call: empty message = success.
class Status {
public:
  Status() = default;
  static Status error(std::string message, ds_status_code code = DS_RUNTIME_ERROR) {
    Status s;
    s.message_ = std::move(message);
    s.code_ = code;
    return s;
  }
  bool ok() const { return code_ == DS_OK; }
  explicit operator bool() const { return ok(); }
  const std::string &message() const { return message_; }
  ds_status_code code() const { return code_; }

private:
  std::string message_;
  ds_status_code code_ = DS_OK;
};

/// The error `s` of a step of op `op`: its message led by "op: " once (most
/// kernels already name their op), with `code`.
inline Status stepError(const std::string &op, const Status &s, ds_status_code code) {
  const std::string &m = s.message();
  bool named = m.size() > op.size() + 1 && m.compare(0, op.size(), op) == 0 &&
               m[op.size()] == ':';
  return Status::error(named ? m : op + ": " + m, code);
}

/// Attributes of one step, as the compiler wrote them.
struct Attribute {
  enum Kind : uint8_t { Int = 0, Float = 1, Ints = 2, Floats = 3, String = 4, Tensor = 5 };
  Kind kind = Int;
  int64_t i = 0;
  double f = 0;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::string s;          ///< String, or the raw bytes of a Tensor attribute.
  DType tensorType = DS_F32; ///< Element type of a Tensor attribute.
};

class Attributes {
public:
  void set(std::string name, Attribute value) { map_[std::move(name)] = std::move(value); }
  const Attribute *find(const std::string &name) const {
    auto it = map_.find(name);
    return it == map_.end() ? nullptr : &it->second;
  }
  bool has(const std::string &name) const { return find(name) != nullptr; }
  const std::map<std::string, Attribute> &all() const { return map_; }
  int64_t getInt(const std::string &name, int64_t fallback = 0) const {
    const Attribute *a = find(name);
    return a && a->kind == Attribute::Int ? a->i : fallback;
  }
  double getFloat(const std::string &name, double fallback = 0) const {
    const Attribute *a = find(name);
    if (!a)
      return fallback;
    return a->kind == Attribute::Float ? a->f : (a->kind == Attribute::Int ? (double)a->i : fallback);
  }
  std::vector<int64_t> getInts(const std::string &name) const {
    const Attribute *a = find(name);
    return a && a->kind == Attribute::Ints ? a->ints : std::vector<int64_t>{};
  }
  std::string getString(const std::string &name, const std::string &fallback = "") const {
    const Attribute *a = find(name);
    return a && a->kind == Attribute::String ? a->s : fallback;
  }

private:
  std::map<std::string, Attribute> map_;
};

/// Runs `body(begin, end)` over [0, n) split across the session's threads.
using ParallelFor = std::function<void(int64_t n, int64_t grain,
                                       const std::function<void(int64_t, int64_t)> &body)>;

namespace cpu {
class PackedConstants;
}

struct KernelContext {
  ParallelFor parallelFor;
  int numThreads = 1;
  /// Constant matmul operands packed when the session started (null: none).
  const cpu::PackedConstants *packed = nullptr;
};

/// One op of the step list. Absent optional inputs are null.
using Kernel = Status (*)(KernelContext &ctx, const Attributes &attrs,
                          const std::vector<const Tensor *> &inputs,
                          const std::vector<Tensor *> &outputs);

/// A tensor shape (row-major dims).
using Shape = std::vector<int64_t>;

/// Computes the shapes of a step's results from its operands, before the step
/// runs, so that the runtime can size buffers for inputs of any shape.
/// `outputs` arrives sized to the step's result count. Every operand carries
/// its shape; only the operands in the op's `shapeOperands` mask carry data
/// (Reshape's target shape, Slice's starts, NonZero's input...), the others'
/// data may be null. Rejects operands the kernel would reject (ranks, broadcast,
/// values out of range) with a message, never by crashing, and refuses results
/// whose element count overflows int64.
using ShapeFunction = Status (*)(const Attributes &attrs, const std::vector<const Tensor *> &inputs,
                                 std::vector<Shape> &outputs);

/// What the CPU backend knows about one ds op.
struct CpuOp {
  CpuOp() = default;
  CpuOp(Kernel kernel, ShapeFunction shape, uint32_t shapeOperands = 0)
      : kernel(kernel), shape(shape), shapeOperands(shapeOperands) {}
  Kernel kernel = nullptr;
  ShapeFunction shape = nullptr;
  /// Bit i set: the results' shapes depend on the values of operand i.
  uint32_t shapeOperands = 0;
};

/// The mask of CpuOp::shapeOperands for the operand indices listed.
constexpr uint32_t operandMask(std::initializer_list<int> operands) {
  uint32_t mask = 0;
  for (int i : operands)
    mask |= 1u << i;
  return mask;
}

/// The CPU op for a ds op name ("ds.binary"), or null.
const CpuOp *findCpuOp(const std::string &opName);
/// The CPU kernel for a ds op name, or null.
inline Kernel findCpuKernel(const std::string &opName) {
  const CpuOp *op = findCpuOp(opName);
  return op ? op->kernel : nullptr;
}

} // namespace dsrt

#endif // DS_RUNTIME_CORE_TENSOR_H
