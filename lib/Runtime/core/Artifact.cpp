//===- Artifact.cpp - loading and validating a .dsx artifact --------------===//
#include "core/Artifact.h"
#include "core/WeightTransposes.h"
#include "core/CudaSteps.h"
#include "core/OpContract.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dsrt {
/// Bounds-checked little-endian reader over the metadata section.
class ByteReader {
public:
  ByteReader(const unsigned char *data, uint64_t size) : data_(data), size_(size) {}
  bool failed() const { return failed_; }
  template <typename T> T read() {
    T v{};
    if (!take(sizeof(T)))
      return v;
    std::memcpy(&v, data_ + pos_ - sizeof(T), sizeof(T));
    return v;
  }
  std::string str() {
    uint32_t n = read<uint32_t>();
    if (!take(n))
      return {};
    return std::string((const char *)data_ + pos_ - n, n);
  }
  /// A count that must fit in the remaining bytes at `minBytesEach` per item.
  uint32_t count(uint64_t minBytesEach) {
    uint32_t n = read<uint32_t>();
    if ((uint64_t)n * minBytesEach > size_ - pos_)
      failed_ = true;
    return failed_ ? 0 : n;
  }

private:
  bool take(uint64_t n) {
    if (failed_ || n > size_ - pos_) {
      failed_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }
  const unsigned char *data_;
  uint64_t size_, pos_ = 0;
  bool failed_ = false;
};

namespace {
Status invalid(const std::string &what) {
  return Status::error("invalid artifact: " + what, DS_INVALID_ARTIFACT);
}

bool validDType(uint8_t d) { return d >= DS_F32 && d <= DS_U2; }
} // namespace

Program::~Program() {
  if (mapping_)
    munmap(mapping_, mappingSize_);
}

const unsigned char *Program::unpackedCodes(uint32_t id) const {
  std::lock_guard<std::mutex> lock(unpackMutex_);
  auto it = unpacked_.find(id);
  if (it != unpacked_.end())
    return it->second.get();
  const ValueInfo &v = values[id];
  const uint64_t size = (std::max<uint64_t>(v.bytes, 1) + 63) / 64 * 64;
  std::unique_ptr<unsigned char, void (*)(void *)> copy(
      static_cast<unsigned char *>(std::aligned_alloc(64, size)), std::free);
  if (!copy)
    return nullptr;
  const unsigned bits = codeBits(v.dtype), perByte = 8 / bits, shift = 8 - bits;
  const bool isSigned = v.dtype == DS_I4 || v.dtype == DS_I2;
  const unsigned char *in = constantData(v);
  for (uint64_t i = 0; i < v.bytes; ++i) {
    // The code in the top bits of a byte, shifted back down: arithmetic
    // (sign-extending) for signed codes.
    const uint8_t top = (uint8_t)(in[i / perByte] << (shift - (i % perByte) * bits));
    copy.get()[i] = isSigned ? (uint8_t)((int8_t)top >> shift) : (uint8_t)(top >> shift);
  }
  return unpacked_.emplace(id, std::move(copy)).first->second.get();
}

void Program::releaseConstantPages(const void *data, uint64_t bytes) const {
  if (!mapping_)
    return;
  // Only pages of the file mapping: anywhere else (a session's own copy)
  // MADV_DONTNEED would zero memory that is still read.
  const uintptr_t first = (uintptr_t)mapping_, last = first + mappingSize_;
  if ((uintptr_t)data < first || (uintptr_t)data > last || bytes > last - (uintptr_t)data)
    return;
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t begin = ((uintptr_t)data + page - 1) / page * page;
  uintptr_t end = ((uintptr_t)data + bytes) / page * page;
  if (begin < end)
    madvise((void *)begin, end - begin, MADV_DONTNEED);
}

Status Program::load(const std::string &path, std::unique_ptr<Program> &out) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return Status::error("cannot open artifact '" + path + "': " + std::strerror(errno),
                         DS_IO_ERROR);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error("artifact '" + path + "' is not a regular file", DS_IO_ERROR);
  }
  auto program = std::unique_ptr<Program>(new Program());
  program->mappingSize_ = (uint64_t)st.st_size;
  if (program->mappingSize_ < DSX_HEADER_SIZE) {
    ::close(fd);
    return invalid("'" + path + "' is " + std::to_string(st.st_size) +
                   " bytes, smaller than the header (truncated or not an artifact)");
  }
  void *map = mmap(nullptr, program->mappingSize_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED)
    return Status::error("cannot map artifact '" + path + "': " + std::strerror(errno),
                         DS_IO_ERROR);
  program->mapping_ = map;
  Status s = program->parse((const unsigned char *)map, program->mappingSize_);
  if (!s)
    return Status::error(s.message() + " ('" + path + "')", s.code());
  out = std::move(program);
  return Status();
}

Status Program::fromBuffer(const unsigned char *data, uint64_t size,
                           std::unique_ptr<Program> &out) {
  auto program = std::unique_ptr<Program>(new Program());
  // Copy into 64-byte aligned storage so constants keep their alignment.
  program->owned_.resize(size + DSX_CONSTANT_ALIGNMENT);
  unsigned char *base = program->owned_.data();
  base += (DSX_CONSTANT_ALIGNMENT - (uintptr_t)base % DSX_CONSTANT_ALIGNMENT) % DSX_CONSTANT_ALIGNMENT;
  if (size)
    std::memcpy(base, data, size);
  if (size < DSX_HEADER_SIZE)
    return invalid(std::to_string(size) + " bytes, smaller than the header");
  Status s = program->parse(base, size);
  if (!s)
    return s;
  out = std::move(program);
  return Status();
}

Status Program::parse(const unsigned char *data, uint64_t size) {
  if (std::memcmp(data, DSX_MAGIC, 8) != 0)
    return invalid("bad magic: not a ds artifact");
  ByteReader header(data + 8, DSX_HEADER_SIZE - 8);
  uint32_t version = header.read<uint32_t>();
  uint32_t headerSize = header.read<uint32_t>();
  uint64_t fileSize = header.read<uint64_t>();
  uint64_t checksum = header.read<uint64_t>();
  uint64_t metaOffset = header.read<uint64_t>(), metaSize = header.read<uint64_t>();
  uint64_t constOffset = header.read<uint64_t>(), constSize = header.read<uint64_t>();
  if (version < DSX_FORMAT_VERSION_MIN || version > DSX_FORMAT_VERSION_MAX)
    return invalid("format version " + std::to_string(version) + ", this runtime reads versions " +
                   std::to_string(DSX_FORMAT_VERSION_MIN) + " to " +
                   std::to_string(DSX_FORMAT_VERSION_MAX) + " (recompile the model)");
  if (headerSize != DSX_HEADER_SIZE)
    return invalid("unexpected header size " + std::to_string(headerSize));
  if (fileSize != size)
    return invalid("header says " + std::to_string(fileSize) + " bytes but the file has " +
                   std::to_string(size) + " (truncated or padded)");
  if (metaOffset < DSX_HEADER_SIZE || metaOffset > size || metaSize > size - metaOffset ||
      constOffset > size || constSize > size - constOffset ||
      constOffset % DSX_CONSTANT_ALIGNMENT != 0)
    return invalid("section offsets lie outside the file");
  if (dsx_checksum(data + DSX_HEADER_SIZE, size - DSX_HEADER_SIZE) != checksum)
    return invalid("checksum mismatch (corrupted file)");
  constants_ = data + constOffset;

  ByteReader r(data + metaOffset, metaSize);
  uint32_t numValues = r.count(24);
  values.resize(numValues);
  for (ValueInfo &v : values) {
    uint8_t dtype = r.read<uint8_t>(), storage = r.read<uint8_t>();
    uint16_t flags = r.read<uint16_t>();
    uint32_t rank = r.count(8);
    const uint16_t inputFlags = DSX_VALUE_HAS_DEFAULT | DSX_VALUE_ANY_RANK;
    if (!validDType(dtype) || storage > DSX_STORAGE_ARENA || rank > 64 ||
        (flags & ~(inputFlags | DSX_VALUE_PACKED_CODES)) ||
        ((flags & inputFlags) && storage != DSX_STORAGE_INPUT))
      return invalid("bad value record");
    v.hasDefault = flags & DSX_VALUE_HAS_DEFAULT;
    v.anyRank = flags & DSX_VALUE_ANY_RANK;
    v.packedCodes = flags & DSX_VALUE_PACKED_CODES;
    if (v.packedCodes && (version < 5 || storage != DSX_STORAGE_CONSTANT))
      return invalid("bad value record");
    v.dtype = (DType)dtype;
    v.storage = (dsx_storage)storage;
    v.dims.resize(rank);
    uint64_t elements = 1;
    v.symbols.assign(rank, -1);
    for (size_t i = 0; i < rank; ++i) {
      int64_t &d = v.dims[i];
      d = r.read<int64_t>();
      if (d < 0) {
        // Dynamic (version 3): -(k+1) names symbol k in an input.
        if (version < 3 || d < -(int64_t)INT32_MAX)
          return invalid("bad dims");
        if (storage == DSX_STORAGE_INPUT)
          v.symbols[i] = (int32_t)(-d - 1);
        d = -1;
        continue;
      }
      if (d > 0 && elements > UINT64_MAX / (uint64_t)d)
        return invalid("bad dims");
      elements *= (uint64_t)d;
    }
    v.offset = r.read<uint64_t>();
    v.bytes = r.read<uint64_t>();
    v.name = r.str();
    if (r.failed())
      return invalid("metadata is truncated");
    if (v.isDynamic()) {
      dynamic = true;
      if (v.bytes != 0 || (storage != DSX_STORAGE_INPUT && v.offset != 0) ||
          storage == DSX_STORAGE_CONSTANT || v.hasDefault)
        return invalid("value '" + v.name + "' has dynamic dims but a size, or is a constant");
    } else if (v.packedCodes) {
      // Stored 8 / bits codes to a byte; held one per byte.
      if (!codeBits(v.dtype))
        return invalid("value '" + v.name +
                       "' has packed codes but is not a constant of "
                       "4- or 2-bit integers");
      const uint64_t perByte = 8 / codeBits(v.dtype);
      if (elements > UINT64_MAX / 8 || v.bytes != (elements + perByte - 1) / perByte)
        return invalid("value '" + v.name + "' has a byte size that does not match its dims");
      v.storedBytes = v.bytes;
      v.bytes = elements;
    } else if (elements > UINT64_MAX / 8 || v.bytes != elements * dtypeSize(v.dtype)) {
      return invalid("value '" + v.name + "' has a byte size that does not match its dims");
    }
  }
  arenaBytes = r.read<uint64_t>();
  // Far beyond any real plan, and small enough that rounding it up cannot wrap.
  if (arenaBytes > (uint64_t(1) << 48))
    return invalid("arena of " + std::to_string(arenaBytes) + " bytes (more than 2^48)");
  auto readIds = [&](std::vector<uint32_t> &ids, bool allowAbsent) -> bool {
    uint32_t n = r.count(4);
    ids.resize(n);
    for (uint32_t &id : ids) {
      id = r.read<uint32_t>();
      if (!(allowAbsent && id == DSX_ABSENT) && id >= numValues)
        return false;
    }
    return !r.failed();
  };
  if (!readIds(inputs, false) || !readIds(outputs, false))
    return invalid("bad input / output list");
  outputNames.resize(outputs.size());
  for (std::string &name : outputNames)
    name = r.str();
  std::vector<uint8_t> listed(values.size(), 0);
  for (uint32_t id : inputs)
    if (values[id].storage != DSX_STORAGE_INPUT || listed[id]++)
      return invalid("an input is not stored as an input, or listed twice");
  for (size_t id = 0; id < values.size(); ++id)
    if (values[id].storage == DSX_STORAGE_INPUT && !listed[id])
      return invalid("value '" + values[id].name + "' is stored as an input but is not one");
  Status names = checkNames();
  if (!names)
    return names;
  for (const ValueInfo &v : values) {
    const uint64_t stored = v.packedCodes ? v.storedBytes : v.bytes;
    if ((v.storage == DSX_STORAGE_CONSTANT || v.hasDefault) &&
        (v.offset > constSize || stored > constSize - v.offset))
      return invalid("constant '" + v.name + "' lies outside the constants section");
    // A dynamic program's arena is planned at run time (offsets are 0).
    if (v.storage == DSX_STORAGE_ARENA && (dynamic ? v.offset != 0 : (v.offset > arenaBytes || v.bytes > arenaBytes - v.offset)))
      return invalid("a value lies outside the arena");
    // Kernels access elements in place, so every placed value is aligned.
    if ((v.storage != DSX_STORAGE_INPUT || v.hasDefault) && v.offset % DSX_CONSTANT_ALIGNMENT != 0)
      return invalid("value '" + v.name + "' is not " + std::to_string(DSX_CONSTANT_ALIGNMENT) +
                     "-byte aligned");
  }
  uint32_t numSteps = r.count(16);
  steps.resize(numSteps);
  for (Step &step : steps) {
    step.op = r.str();
    if (!readIds(step.inputs, true) || !readIds(step.outputs, false))
      return invalid("bad operand list in step '" + step.op + "'");
    for (uint32_t id : step.outputs)
      if (values[id].storage != DSX_STORAGE_ARENA)
        return invalid("step '" + step.op + "' writes a value outside the arena");
    uint32_t numAttrs = r.count(5);
    for (uint32_t a = 0; a < numAttrs; ++a) {
      std::string name = r.str();
      Attribute attr;
      attr.kind = (Attribute::Kind)r.read<uint8_t>();
      switch (attr.kind) {
      case Attribute::Int: attr.i = r.read<int64_t>(); break;
      case Attribute::Float: attr.f = r.read<double>(); break;
      case Attribute::Ints: {
        uint32_t n = r.count(8);
        for (uint32_t k = 0; k < n; ++k)
          attr.ints.push_back(r.read<int64_t>());
        break;
      }
      case Attribute::Floats: {
        uint32_t n = r.count(8);
        for (uint32_t k = 0; k < n; ++k)
          attr.floats.push_back(r.read<double>());
        break;
      }
      case Attribute::String: attr.s = r.str(); break;
      case Attribute::Tensor: {
        uint8_t dtype = r.read<uint8_t>();
        if (!validDType(dtype))
          return invalid("bad tensor attribute");
        attr.tensorType = (DType)dtype;
        attr.s = r.str();
        break;
      }
      default: return invalid("unknown attribute tag in step '" + step.op + "'");
      }
      if (r.failed())
        return invalid("metadata is truncated");
      step.attrs.set(std::move(name), std::move(attr));
    }
  }
  constantsBytes = constSize;
  if (version >= 2) {
    Status s = parseTarget(r);
    if (!s)
      return s;
  }
  // The CUDA runtime uploads constants as stored: it takes one code per byte.
  if (target != DSX_TARGET_CPU)
    for (const ValueInfo &v : values)
      if (v.packedCodes)
        return invalid("constant '" + v.name + "' has packed codes in a cuda artifact");
  if (version >= 3) {
    Status s = parseSymbols(r);
    if (s)
      s = parseOpClasses(r);
    if (s && version >= 4)
      s = parseGroups(r);
    if (!s)
      return s;
  }
  if (dynamic && arenaBytes != 0)
    return invalid("a program with dynamic dims has a planned arena");
  if (r.failed())
    return invalid("metadata is truncated");
  if (target == DSX_TARGET_CUDA)
    return validateCudaProgram(*this); // cuda.* steps: attributes, operands, images
  if (Status s = checkDataflow(); !s)
    return s;
  for (size_t index = 0; index < steps.size(); ++index) {
    Step &step = steps[index];
    step.cpu = findCpuOp(step.op);
    step.kernel = step.cpu ? step.cpu->kernel : nullptr;
    if (!step.kernel)
      return Status::error("no CPU kernel for '" + step.op + "'", DS_UNSUPPORTED);
    // The attributes and op class as include/ds-runtime/ds_op_attributes.def
    // declares them: the runtime fuses and precomputes by class, so a class
    // the op does not have is refused, not trusted.
    if (Status s = checkStepAttributes(step.op, step.attrs); !s)
      return invalid("step " + std::to_string(index) + " (" + step.op + "): " + s.message());
    const OpContract *contract = findOpContract(step.op);
    if (version >= 3 && contract && step.opClass != contract->opClass)
      return invalid("step " + std::to_string(index) + " (" + step.op + ") has op class " +
                     std::to_string(step.opClass) + ", not the op's " +
                     std::to_string(contract->opClass));
    if (dynamic && !step.cpu->shape)
      return Status::error("the CPU backend cannot size the results of '" + step.op +
                               "' at run time (no shape function), and this artifact has "
                               "dynamic dims; recompile with static --ds-input-shape",
                           DS_UNSUPPORTED);
  }
  readWeightTransposesInPlace(*this);
  return Status();
}

/// The C API hands names out as C strings and callers look values up by
/// name: a NUL byte would cut a name short (two names becoming one), and two
/// inputs or two outputs of one name would make one of them unreachable.
Status Program::checkNames() const {
  auto shown = [](const std::string &name) {
    std::string out;
    for (char c : name)
      out += c ? std::string(1, c) : std::string("\\0");
    return out;
  };
  for (size_t id = 0; id < values.size(); ++id)
    if (values[id].name.find('\0') != std::string::npos)
      return invalid("the name of value " + std::to_string(id) + " ('" + shown(values[id].name) +
                     "') contains a NUL byte");
  for (size_t i = 0; i < outputNames.size(); ++i)
    if (outputNames[i].find('\0') != std::string::npos)
      return invalid("the name of output " + std::to_string(i) + " ('" +
                     shown(outputNames[i]) + "') contains a NUL byte");
  auto unique = [&](const std::vector<std::string> &list, const char *what) {
    std::set<std::string> seen;
    for (const std::string &name : list)
      if (!seen.insert(name).second)
        return invalid(std::string("two ") + what + " are named '" + name + "'");
    return Status();
  };
  std::vector<std::string> inputNames;
  for (uint32_t id : inputs)
    inputNames.push_back(values[id].name);
  Status s = unique(inputNames, "inputs");
  return s ? unique(outputNames, "outputs") : s;
}

/// Version 3's tail: the dim symbols the inputs' dynamic dims name.
Status Program::parseSymbols(ByteReader &r) {
  symbols.resize(r.count(4 + 16));
  if (r.failed()) // else the inputs' check below blames "symbol k of 0"
    return invalid("metadata is truncated (dim symbols)");
  for (DimSymbol &symbol : symbols) {
    symbol.name = r.str();
    symbol.min = r.read<int64_t>();
    symbol.max = r.read<int64_t>();
    if (r.failed())
      return invalid("metadata is truncated (dim symbols)");
    if (symbol.min < 0 || symbol.max < -1 || (symbol.max >= 0 && symbol.min > symbol.max))
      return invalid("dim symbol '" + symbol.name + "' has bad bounds");
  }
  for (uint32_t id : inputs)
    for (int32_t k : values[id].symbols)
      if (k >= (int32_t)symbols.size())
        return invalid("input '" + values[id].name + "' names dim symbol " + std::to_string(k) +
                       " of " + std::to_string(symbols.size()));
  return Status();
}

/// Values flow forward: every value a step reads is an input, a constant or
/// the result of an earlier step, every arena value is written by one step,
/// and every output is defined. Kernels then never read memory no step wrote,
/// and a dynamic plan places every value a step reads.
Status Program::checkDataflow() const {
  std::vector<uint8_t> defined(values.size());
  for (size_t id = 0; id < values.size(); ++id)
    defined[id] = values[id].storage != DSX_STORAGE_ARENA;
  for (size_t index = 0; index < steps.size(); ++index) {
    const Step &step = steps[index];
    auto where = [&] { return "step " + std::to_string(index) + " (" + step.op + ")"; };
    for (uint32_t id : step.inputs)
      if (id != DSX_ABSENT && !defined[id])
        return invalid(where() + " reads value " + std::to_string(id) +
                       " before any step writes it");
    for (uint32_t id : step.outputs) {
      if (defined[id])
        return invalid(where() + " writes value " + std::to_string(id) +
                       ", which is already defined");
      defined[id] = 1;
    }
  }
  for (uint32_t id : outputs)
    if (!defined[id])
      return invalid("output value " + std::to_string(id) + " is never written");
  return Status();
}

/// Version 3's last part: the op class of every step.
Status Program::parseOpClasses(ByteReader &r) {
  uint32_t count = r.count(1);
  if (r.failed())
    return invalid("metadata is truncated (op classes)");
  if (count != steps.size())
    return invalid(std::to_string(count) + " op classes for " + std::to_string(steps.size()) +
                   " steps");
  for (Step &step : steps) {
    uint8_t cls = r.read<uint8_t>();
    if (cls > DSX_OP_CLASS_MAX)
      return invalid("step '" + step.op + "' has unknown op class " + std::to_string(cls));
    step.opClass = (dsx_op_class)cls;
  }
  return Status();
}

/// Version 4's tail: the fusion groups, ascending runs of steps.
Status Program::parseGroups(ByteReader &r) {
  groups.resize(r.count(16));
  if (r.failed())
    return invalid("metadata is truncated (fusion groups)");
  if (!groups.empty() && target != DSX_TARGET_CPU)
    return invalid("a program for another target than the cpu has fusion groups");
  // Results have at most this many dims (the value table's rank limit).
  constexpr uint32_t kMaxParallelDims = 64;
  uint64_t next = 0;
  for (FusionGroup &group : groups) {
    group.firstStep = r.read<uint32_t>();
    group.numSteps = r.read<uint32_t>();
    group.headSteps = r.read<uint32_t>();
    group.parallelDims = r.read<uint32_t>();
    if (r.failed())
      return invalid("metadata is truncated (fusion groups)");
    uint64_t end = (uint64_t)group.firstStep + group.numSteps;
    if (group.numSteps == 0 || group.firstStep < next || end > steps.size())
      return invalid("fusion group of steps [" + std::to_string(group.firstStep) + ", " +
                     std::to_string(end) + ") is empty, overlaps the one before or ends after " +
                     "the " + std::to_string(steps.size()) + " steps");
    if (group.headSteps > group.numSteps || group.parallelDims > kMaxParallelDims)
      return invalid("fusion group at step " + std::to_string(group.firstStep) + " has " +
                     std::to_string(group.headSteps) + " head steps of " +
                     std::to_string(group.numSteps) + " and " + std::to_string(group.parallelDims) +
                     " parallel dims");
    next = end;
  }
  return Status();
}

/// Version 2's tail: the target and the kernel images (docs/cuda-backend.md).
Status Program::parseTarget(ByteReader &r) {
  uint32_t t = r.read<uint32_t>();
  if (r.failed())
    return invalid("metadata is truncated (no target)");
  if (t != DSX_TARGET_CPU && t != DSX_TARGET_CUDA)
    return invalid("unknown target " + std::to_string(t));
  target = (dsx_target)t;
  images.resize(r.count(4 + 16));
  for (KernelImage &image : images) {
    image.arch = r.str();
    image.offset = r.read<uint64_t>();
    image.size = r.read<uint64_t>();
    if (r.failed())
      return invalid("metadata is truncated (kernel images)");
    bool archOk = !image.arch.empty() && image.arch.size() <= DSX_MAX_ARCH_LENGTH;
    for (char c : image.arch)
      archOk &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!archOk)
      return invalid("bad kernel image architecture name");
    if (image.size == 0 || image.offset > constantsBytes ||
        image.size > constantsBytes - image.offset ||
        image.offset % DSX_CONSTANT_ALIGNMENT != 0)
      return invalid("kernel image '" + image.arch + "' lies outside the constants section");
  }
  if (target == DSX_TARGET_CPU && !images.empty())
    return invalid("a cpu artifact carries kernel images");
  return Status();
}

} // namespace dsrt
