//===- Artifact.h - loading and validating a .dsx artifact -----*- C++ -*-===//
#ifndef DS_RUNTIME_CORE_ARTIFACT_H
#define DS_RUNTIME_CORE_ARTIFACT_H

#include "core/Tensor.h"
#include "ds-runtime/ds_artifact_format.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dsrt {

class ByteReader;

struct ValueInfo {
  DType dtype = DS_F32;
  dsx_storage storage = DSX_STORAGE_ARENA;
  std::vector<int64_t> dims;
  uint64_t offset = 0, bytes = 0;
  std::string name;
  /// An input whose default value is a constant at `offset`.
  bool hasDefault = false;
  /// An input declared without a shape: one element may come at any rank.
  bool anyRank = false;
  /// A constant of 4- or 2-bit codes stored 8 / bits to a byte in the file
  /// (DSX_VALUE_PACKED_CODES): `bytes` is what the runtime holds (one code
  /// per byte), `storedBytes` what the file holds at `offset`. Sessions
  /// unpack it (Program::unpackedCodes) or read it packed themselves.
  bool packedCodes = false;
  uint64_t storedBytes = 0;
  /// Per dim of an input: the index of its dim symbol, -1 for a static dim.
  /// Dynamic dims are -1 in `dims`, and such a value has `bytes` 0.
  std::vector<int32_t> symbols;
  bool isDynamic() const {
    for (int64_t d : dims)
      if (d < 0)
        return true;
    return false;
  }
};

/// A dynamic dim of the inputs (format version 3): every input dim naming it
/// binds one size in a run, within [min, max] (max -1: unbounded).
struct DimSymbol {
  std::string name;
  int64_t min = 0, max = -1;
};

struct Step {
  std::string op;
  std::vector<uint32_t> inputs, outputs; ///< value ids; DSX_ABSENT for none
  Attributes attrs;
  Kernel kernel = nullptr;
  const CpuOp *cpu = nullptr; ///< the CPU backend's kernel and shape function
  /// What the op does, as the compiler declared it (version 3; DSX_OP_OTHER
  /// in older files, which then run unfused).
  dsx_op_class opClass = DSX_OP_OTHER;
  /// Nothing reads the results any more (core/WeightTransposes.h rewired
  /// their readers): sized, never run, given no memory.
  bool elided = false;
};

/// A kernel binary of a cuda artifact: a cubin ("sm_90a") or PTX ("compute_80").
/// A fusion group of a cpu program (format version 4): consecutive steps the
/// compiler's ds-fuse put together. Its first `headSteps` steps run whole (a
/// convolution anchor); the session runs the others in tiles of rows of their
/// first `parallelDims` result dims when the bound shapes allow.
struct FusionGroup {
  uint32_t firstStep = 0, numSteps = 0;
  uint32_t headSteps = 0, parallelDims = 0;
};

struct KernelImage {
  std::string arch;
  uint64_t offset = 0, size = 0; ///< inside the constants section
};

/// A loaded artifact: the file stays mapped and constants point into it.
class Program {
public:
  ~Program();
  /// Maps and validates `path`; every offset, size and id is bounds-checked.
  static Status load(const std::string &path, std::unique_ptr<Program> &out);
  /// Validates an artifact held in memory (copied into the program).
  static Status fromBuffer(const unsigned char *data, uint64_t size, std::unique_ptr<Program> &out);

  std::vector<ValueInfo> values;
  std::vector<uint32_t> inputs, outputs;
  std::vector<std::string> outputNames;
  std::vector<Step> steps;
  uint64_t arenaBytes = 0;
  uint64_t constantsBytes = 0;
  dsx_target target = DSX_TARGET_CPU; ///< version 1 files are cpu
  std::vector<KernelImage> images;    ///< empty for cpu
  std::vector<DimSymbol> symbols;     ///< empty before version 3
  std::vector<FusionGroup> groups;    ///< empty before version 4 (steps run one by one)
  /// Some value has a dynamic dim: shapes and the arena are planned per
  /// input shape at run time (arenaBytes is 0).
  bool dynamic = false;

  /// A constant's bytes as stored (for packed codes: packed).
  const unsigned char *constantData(const ValueInfo &v) const { return constants_ + v.offset; }
  /// Packed constant values[id] as one code per byte (i4 / i2
  /// sign-extended), 64-byte aligned: unpacked on first use and shared by
  /// every session of this program (thread-safe); null when out of memory.
  const unsigned char *unpackedCodes(uint32_t id) const;
  const unsigned char *imageData(const KernelImage &image) const {
    return constants_ + image.offset;
  }
  const unsigned char *constantsSection() const { return constants_; }
  /// Lets the kernel drop the resident pages of constant bytes [data,
  /// data + bytes) that a session keeps in another form (packed weights):
  /// pages of the file mapping are read back from the file if touched
  /// again. Nothing happens for an artifact held in memory.
  void releaseConstantPages(const void *data, uint64_t bytes) const;

private:
  Status parse(const unsigned char *data, uint64_t size);
  Status parseTarget(ByteReader &r);
  Status parseSymbols(ByteReader &r);
  Status parseOpClasses(ByteReader &r);
  Status parseGroups(ByteReader &r);
  Status checkDataflow() const;
  Status checkNames() const;
  void *mapping_ = nullptr;
  mutable std::mutex unpackMutex_;
  mutable std::map<uint32_t, std::unique_ptr<unsigned char, void (*)(void *)>> unpacked_;
  std::vector<unsigned char> owned_; ///< the bytes, when not mapped from a file
  uint64_t mappingSize_ = 0;
  const unsigned char *constants_ = nullptr;
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_ARTIFACT_H
