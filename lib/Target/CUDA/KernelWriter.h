//===- KernelWriter.h - CUDA C++ for one fusion group -----------*- C++ -*-===//
//
// The core of the emitter: KernelWriter::at(v, coords) writes the statements
// that compute the element of group value `v` at the given coordinates (C
// expressions, one per dim) and returns the name of the local holding it.
// Block arguments are loaded from kernel parameters with their own strides,
// ops recurse into their operands at the coordinates they read (broadcasts
// project, transposes permute, gathers load an index first, convs and pools
// loop over their window). Group kinds (EmitElementwise.cpp, ...) decide the
// iteration space and which values are stored; a kind can also override a
// value (e.g. the reduction result) with its own code.
//
//===----------------------------------------------------------------------===//
#ifndef DS_LIB_TARGET_CUDA_KERNELWRITER_H
#define DS_LIB_TARGET_CUDA_KERNELWRITER_H

#include "DynamicDims.h"
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Target/Artifact/ArtifactWriter.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <map>
#include <string>

namespace mlir::ds::cuda {

using Coords = llvm::SmallVector<std::string, 6>;

/// The Float8Codec.h format of a float8 type (0 E4M3FN, 1 E5M2, 2 E4M3FNUZ,
/// 3 E5M2FNUZ), -1 for other types.
int float8Kind(Type t);
/// C type that holds an element in memory ("float", "__half", "bool", ...),
/// or failure for element types the CUDA backend does not handle.
FailureOr<std::string> storageType(Type t);
/// C type an element is computed in ("float" for every float type but f64,
/// which computes in "double").
std::string computeType(Type t);
/// The C math function `name` for the compute type of `t`: "expf" for float,
/// "exp" for double.
std::string mathFn(StringRef name, Type t);
/// A C literal for `value` in the compute type of `t`: every digit a float
/// (9) or double (17) holds, an `f` suffix for float, NaN and infinities by
/// name.
std::string literal(double value, Type t);
/// Emits "<what>: unsupported element type" on `op` if `t` is not handled.
LogicalResult checkElementType(Operation *op, Type t);

/// Sizes are C expressions: a number for a static dim, an expression over the
/// kernel's size parameters (s0, s1, ...) for a dynamic one (DynamicDims).
using Dims = llvm::SmallVector<std::string, 6>;
Dims dimsOf(ArrayRef<int64_t> shape);
/// `a * b` folded where both are numbers or one is 1.
std::string mulC(StringRef a, StringRef b);
/// True when `dim` is the number 1.
inline bool isOne(StringRef dim) { return dim == "1"; }

/// Row-major strides.
Dims stridesOf(ArrayRef<std::string> dims);
/// The coordinates of an operand of shape `operand` read by an element at
/// `coords` of a result of shape `result` (numpy broadcasting: missing
/// leading dims are dropped, dims of size 1 read index 0; a dynamic dim
/// that differs from the result's reads index 0 when it is 1 at run time).
Coords broadcastCoords(ArrayRef<std::string> operand, ArrayRef<std::string> result,
                       ArrayRef<std::string> coords);
/// `lin` decomposed into coordinates of `dims` (dims of size 1 give "0").
Coords delinearize(StringRef lin, ArrayRef<std::string> dims);
/// Sum of coords[d] * stride[d] as a C expression.
std::string linearize(ArrayRef<std::string> coords, ArrayRef<std::string> dims);

/// Constant integers of `v`: a ds.constant in the group, or a group input
/// defined by a ds.constant outside.
FailureOr<SmallVector<int64_t>> constantInts(Value v);
/// Constant floats of `v`, found as constantInts finds integers.
FailureOr<SmallVector<double>> constantFloats(Value v);

/// A kernel parameter: a group input that the kernel reads or a group result.
struct KernelParam {
  Value outer;      ///< value of @main
  std::string name; ///< in0, in1, ..., out0, ...
  std::string type; ///< storage type
  bool output = false;
};

class KernelWriter {
public:
  KernelWriter(FusionGroupOp group, std::string name, const DynamicDims &sizes);

  FusionGroupOp group;
  std::string name; ///< the extern "C" symbol
  const DynamicDims &sizes;

  /// Every dim of `v` as a C expression.
  Dims dims(Value v) const { return sizes.dimsC(v); }

  /// Statement output at the current indentation.
  llvm::raw_ostream &line();
  void indent() { ++depth; }
  void dedent() { --depth; }
  /// Opens a `{`-scope that values computed inside do not leave.
  void open(const llvm::Twine &header);
  /// Closes it; `after` follows the brace (";" ends a lambda).
  void close(StringRef after = "");
  std::string fresh(StringRef prefix);
  /// Declares a local holding `index` with a negative value counted from the
  /// end of `dim` (gathers, scatters) and returns its name.
  std::string wrappedIndex(StringRef index, StringRef dim);

  /// Element of `v` at `coords`; see the file comment.
  FailureOr<std::string> at(Value v, ArrayRef<std::string> coords);

  /// Declares `auto <name> = [&](long long e) {...};`, the element of
  /// group value `v` at row-major index e in its compute type (a plain load
  /// from a group input, the recursion of at() otherwise).
  LogicalResult declareFlatLoader(Value v, StringRef name);

  /// A file-scope table of `constant`'s elements in their compute type (one
  /// element for a splat) and its name.
  FailureOr<std::string> tableOf(ConstantOp constant);

  /// Replaces the computation of `v` (e.g. the anchor of a reduction).
  std::map<void *, std::function<FailureOr<std::string>(ArrayRef<std::string>)>> overrides;
  void override(Value v, std::function<FailureOr<std::string>(ArrayRef<std::string>)> fn) {
    overrides[v.getAsOpaquePointer()] = std::move(fn);
  }

  /// Parameter name of group input `arg` (registering it as read).
  std::string inputParam(BlockArgument arg);
  /// Parameter name of group result `index`.
  std::string outputParam(unsigned index);

  /// The kernel: signature, `preamble`, body. Inputs come first, in group
  /// operand order, then the outputs, then one `long long` per dim symbol
  /// of a dynamic program.
  std::string finish(StringRef launchBounds) const;
  /// The cuda.launch step of this kernel (a dynamic grid dim becomes a
  /// "dynamic_fields" entry; dynamic result dims a "dynamic_dims" one).
  ArtifactStep launchStep(std::array<Size, 3> grid, std::array<int64_t, 3> block,
                          int64_t sharedBytes) const;

  /// File-scope declarations the kernel needs (constant tables).
  std::string globals;

private:
  FailureOr<std::string> compute(Operation *op, Value v, ArrayRef<std::string> coords);
  FailureOr<std::string> computeElementwise(Operation *op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeDataMovement(Operation *op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeWindow(Operation *op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeScan(CumSumOp op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeArgReduce(ArgReduceOp op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeEinsum(EinsumOp op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeResize(ResizeOp op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeQuantize(Operation *op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeMatMulInteger(MatMulIntegerOp op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeConvTranspose(ConvTransposeOp op, ArrayRef<std::string> coords);
  FailureOr<std::string> computeScatter(Operation *op, ArrayRef<std::string> coords);

  std::string body;
  llvm::raw_string_ostream os{body};
  int depth = 1;
  unsigned counter = 0;
  /// Values already computed, per open scope: key "value@coords".
  std::vector<llvm::DenseMap<std::pair<void *, unsigned>, std::string>> memo{1};
  llvm::StringMap<unsigned> coordIds;
  std::map<unsigned, KernelParam> inputs; // by group operand index
  std::map<unsigned, KernelParam> outputs;
};

} // namespace mlir::ds::cuda

#endif // DS_LIB_TARGET_CUDA_KERNELWRITER_H
