//===- Session.cpp - executing a program on the CPU -----------------------===//
#include "core/Session.h"

#include "cpu/ConvByPixels.h"
#include "cpu/Kernels.h"
#include "cpu/WinogradConv.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

namespace dsrt {
std::string formatDims(const int64_t *dims, int64_t rank) {
  std::ostringstream os;
  os << "[";
  for (int64_t i = 0; i < rank; ++i)
    os << (i ? "x" : "") << dims[i];
  os << "]";
  return os.str();
}

namespace {

/// The dtype a caller stored, read as the integer it is: a C caller may store
/// any value there, and loading an out-of-range enum is undefined in C++.
int32_t rawDType(const ds_tensor &t) {
  static_assert(sizeof(t.dtype) == sizeof(int32_t), "ds_dtype is an int");
  int32_t value;
  std::memcpy(&value, &t.dtype, sizeof value);
  return value;
}

std::string dtypeText(int32_t dtype) {
  if (dtype >= DS_F32 && dtype <= DS_U2)
    return ds_dtype_name((ds_dtype)dtype);
  return "unknown (" + std::to_string(dtype) + ")";
}
std::string symbolText(const Program &program, int32_t k) {
  const DimSymbol &symbol = program.symbols[(size_t)k];
  std::string bounds = symbol.max >= 0 || symbol.min > 0
                           ? " (" + std::to_string(symbol.min) + ".." +
                                 (symbol.max >= 0 ? std::to_string(symbol.max) : "") + ")"
                           : "";
  return "'" + symbol.name + "'" + bounds;
}

/// "[batch x 4 x past_sequence x 16]": the dims of an input with its symbols.
std::string symbolicDims(const Program &program, const ValueInfo &v) {
  std::string text = "[";
  for (size_t d = 0; d < v.dims.size(); ++d)
    text += (d ? " x " : "") + (v.symbols[d] >= 0 ? program.symbols[(size_t)v.symbols[d]].name
                                                   : std::to_string(v.dims[d]));
  return text + "]";
}

/// Checks the dims of an input with dynamic dims: static dims as declared,
/// each dynamic one within its symbol's bounds and equal to every other dim
/// of that symbol; `bytes` becomes the input's byte size.
template <typename Where>
Status checkDynamicDims(const Program &program, const ValueInfo &v, const ds_tensor &in,
                        Where where, std::vector<int64_t> &symbolSizes, uint64_t &bytes) {
  uint64_t elements = 1;
  for (int32_t d = 0; d < in.rank; ++d) {
    int64_t size = in.dims[d];
    int32_t k = v.symbols[(size_t)d];
    auto bad = [&](const std::string &why) {
      return Status::error(where() + " has dims " + formatDims(in.dims, in.rank) + ", expected " +
                               symbolicDims(program, v) + ": dim " + std::to_string(d) + " " + why,
                           DS_INVALID_ARGUMENT);
    };
    if (size < 0)
      return bad("is negative");
    if (k < 0 && size != v.dims[(size_t)d])
      return bad("must be " + std::to_string(v.dims[(size_t)d]));
    if (k >= 0) {
      const DimSymbol &symbol = program.symbols[(size_t)k];
      if (size < symbol.min || (symbol.max >= 0 && size > symbol.max))
        return bad("is outside the bounds of " + symbolText(program, k));
      int64_t &bound = symbolSizes[(size_t)k];
      if (bound >= 0 && bound != size)
        return bad("is " + symbolText(program, k) + ", which another input dim binds to " +
                   std::to_string(bound));
      bound = size;
    }
    if (size > 0 && elements > (UINT64_MAX / 16) / (uint64_t)size)
      return bad("makes the input too large");
    elements *= (uint64_t)size;
  }
  bytes = elements * dtypeSize(v.dtype);
  return Status();
}
} // namespace

Status validateInputs(const Program &program, const ds_tensor *inputs, int32_t numInputs,
                      std::vector<int64_t> *boundSizes) {
  const auto &expected = program.inputs;
  if (numInputs != (int32_t)expected.size())
    return Status::error("the model takes " + std::to_string(expected.size()) + " inputs, got " +
                             std::to_string(numInputs),
                         DS_INVALID_ARGUMENT);
  if (numInputs > 0 && !inputs)
    return Status::error("inputs is null", DS_INVALID_ARGUMENT);
  std::vector<int64_t> symbolSizes(program.symbols.size(), -1); // bound by the first use
  for (int32_t i = 0; i < numInputs; ++i) {
    const ValueInfo &v = program.values[expected[i]];
    const ds_tensor &in = inputs[i];
    // Built only for a diagnostic: validation runs on every call.
    auto where = [&] { return "input " + std::to_string(i) + " ('" + v.name + "')"; };
    if (rawDType(in) != (int32_t)v.dtype)
      return Status::error(where() + " has dtype " + dtypeText(rawDType(in)) + ", expected " +
                               ds_dtype_name(v.dtype),
                           DS_INVALID_ARGUMENT);
    if (in.rank != (int32_t)v.dims.size() || (in.rank > 0 && !in.dims))
      return Status::error(where() + " has rank " + std::to_string(in.rank) + ", expected " +
                               std::to_string(v.dims.size()) +
                               (v.anyRank ? " (or one element at any rank: the model declares "
                                            "it without a shape)"
                                          : ""),
                           DS_INVALID_ARGUMENT);
    uint64_t bytes = v.bytes;
    if (v.isDynamic()) {
      Status s = checkDynamicDims(program, v, in, where, symbolSizes, bytes);
      if (!s)
        return s;
    } else {
      for (int32_t d = 0; d < in.rank; ++d)
        if (in.dims[d] != v.dims[d])
          return Status::error(where() + " has dims " + formatDims(in.dims, in.rank) +
                                   ", expected " + formatDims(v.dims.data(), v.dims.size()),
                               DS_INVALID_ARGUMENT);
    }
    if (in.byte_size != bytes)
      return Status::error(where() + " holds " + std::to_string(in.byte_size) + " bytes, expected " +
                               std::to_string(bytes),
                           DS_INVALID_ARGUMENT);
    if (!in.data && bytes)
      return Status::error(where() + " has no data", DS_INVALID_ARGUMENT);
  }
  if (boundSizes)
    *boundSizes = std::move(symbolSizes);
  return Status();
}

Status Session::create(const Program &program, int numThreads, std::unique_ptr<Session> &out) {
  std::unique_ptr<Session> session(new Session(program));
  Status s = session->init(numThreads);
  if (!s)
    return s;
  out = std::move(session);
  return Status();
}

Status Session::init(int numThreads) {
  Status started = pool_.start(numThreads);
  if (!started)
    return started;
  context_.numThreads = pool_.size();
  profile_ = UnitProfile::fromEnvironment();
  context_.parallelFor = [this](int64_t n, int64_t grain,
                                const std::function<void(int64_t, int64_t)> &body) {
    pool_.parallelFor(n, grain, body);
  };
  if (Status placed = placeConstants(); !placed)
    return placed;
  if (Status packed = packWeights(); !packed)
    return packed;
  if (program_.dynamic) {
    shapes_ = analyzeShapes(program_);
    outputs_.resize(program_.outputs.size());
    return Status();
  }
  size_t bytes = align64(program_.arenaBytes);
  arena_ = bytes ? std::aligned_alloc(64, bytes) : nullptr;
  if (bytes && !arena_)
    return Status::error("cannot allocate the " + std::to_string(program_.arenaBytes) +
                         "-byte activation arena");
  units_ = planExecution(program_);
  tensors_.resize(program_.values.size());
  for (size_t id = 0; id < program_.values.size(); ++id) {
    const ValueInfo &v = program_.values[id];
    Tensor &t = tensors_[id];
    t.dtype = v.dtype;
    t.shape = v.dims;
    if (v.storage == DSX_STORAGE_CONSTANT)
      t.data = const_cast<unsigned char *>(constants_[id]); // kernels only read it
    else if (v.storage == DSX_STORAGE_ARENA)
      t.data = static_cast<char *>(arena_) + v.offset;
  }
  uint64_t copyBytes = 0;
  for (uint32_t id : program_.outputs)
    if (program_.values[id].storage != DSX_STORAGE_ARENA)
      copyBytes += align64(program_.values[id].bytes);
  copies_ = copyBytes ? std::aligned_alloc(64, copyBytes) : nullptr;
  if (copyBytes && !copies_)
    return Status::error("cannot allocate " + std::to_string(copyBytes) +
                         " bytes for the outputs that are constants or inputs");
  uint64_t offset = 0;
  for (uint32_t id : program_.outputs) {
    outputs_.push_back(tensors_[id]);
    if (program_.values[id].storage != DSX_STORAGE_ARENA) {
      outputs_.back().data = static_cast<char *>(copies_) + offset;
      offset += align64(program_.values[id].bytes);
    }
  }
  return Status();
}

Session::~Session() {
  std::free(arena_);
  std::free(copies_);
}

Status Session::execute(const std::vector<ExecUnit> &units, std::vector<Tensor> &tensors) {
  std::vector<const Tensor *> ins;
  std::vector<Tensor *> outs;
  for (const ExecUnit &unit : units) {
    std::chrono::steady_clock::time_point started;
    if (profile_)
      started = std::chrono::steady_clock::now();
    if (unit.epilogue) {
      Status s = runStoreEpilogueUnit(program_, unit, tensors, context_, pool_);
      if (!s)
        return s;
    } else if (unit.tiled()) {
      Status s = runTiledUnit(program_, unit, tensors, pool_, context_.packed);
      if (!s)
        return s;
    } else if (Status s = runStep(program_.steps[unit.steps[0]], tensors, context_, ins, outs);
               !s) {
      return s;
    }
    if (profile_)
      profile_->record(program_, unit, tensors,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                           .count());
  }
  return Status();
}

namespace {

/// The window of the 2-D convolution `step` as its kernel sees it, when
/// its channels and maps are static (the batch may be dynamic: the
/// weights' packing does not depend on it).
bool staticConvWindow(const Program &program, const Step &step, cpu::Window &window) {
  const ValueInfo &x = program.values[step.inputs[0]], &w = program.values[step.inputs[1]];
  if (step.outputs.empty())
    return false;
  const ValueInfo &y = program.values[step.outputs[0]];
  auto staticPastBatch = [](const ValueInfo &v) {
    return v.dims.size() == 4 && v.dims[1] >= 0 && v.dims[2] >= 0 && v.dims[3] >= 0;
  };
  if (!staticPastBatch(x) || !staticPastBatch(y) || w.dims.size() != 4 ||
      w.dims[1] != x.dims[1] || !cpu::readWindowAttrs("ds.conv", step.attrs, 2, window))
    return false;
  window.in = {x.dims[2], x.dims[3]};
  window.kernel = {w.dims[2], w.dims[3]};
  window.out = {y.dims[2], y.dims[3]};
  window.finish();
  return true;
}

/// The Winograd variant the convolution `step` runs in (0: none), asked as
/// its kernel asks (cpu/WinogradConv.h).
int64_t winogradVariant(const Program &program, const Step &step) {
  cpu::Window window;
  if (!staticConvWindow(program, step, window))
    return 0;
  const ValueInfo &x = program.values[step.inputs[0]], &w = program.values[step.inputs[1]];
  return cpu::winogradTileSize(window, x.dims[1], w.dims[0], step.attrs.getInt("group", 1));
}

/// Whether the convolution `step` runs by pixels (cpu/ConvByPixels.h),
/// asked as its kernel asks.
bool convByPixels(const Program &program, const Step &step) {
  cpu::Window window;
  if (!staticConvWindow(program, step, window))
    return false;
  const ValueInfo &x = program.values[step.inputs[0]], &w = program.values[step.inputs[1]];
  return cpu::convByPixels(window, x.dims[1], w.dims[0], step.attrs.getInt("group", 1));
}

/// The element count of constant `w` when every dim is positive, their
/// product does not overflow and it is the constant's bytes over
/// `elementBytes`; else -1. Packing sizes come from the dims, which the
/// artifact's own check does not bound this way (it stops at a 0 dim).
int64_t packableElements(const ValueInfo &w, uint64_t elementBytes) {
  int64_t elements = 1;
  for (int64_t d : w.dims)
    if (d <= 0 || __builtin_mul_overflow(elements, d, &elements))
      return -1;
  return w.bytes / elementBytes == (uint64_t)elements && w.bytes % elementBytes == 0 ? elements
                                                                                   : -1;
}

/// Whether the 8-bit weights `step` reads (operand 1) are worth packing
/// for the VNNI or AVX2 kernels: constant s8 whose dims match their bytes (the
/// artifact's own check stops at a 0 dim; packing sizes come from the dims),
/// with no weight zero point other than a constant 0 (which the kernels do
/// not take), and not one channel per group (depthwise: a word of four
/// channels would hold one).
bool int8WeightsToPack(const Program &program, const Step &step, size_t rank) {
  const ValueInfo &w = program.values[step.inputs[1]];
  if (w.storage != DSX_STORAGE_CONSTANT || w.dtype != DS_I8 || w.dims.size() != rank ||
      packableElements(w, 1) < 0 || (rank == 4 && w.dims[1] == 1))
    return false;
  if (step.inputs.size() > 3 && step.inputs[3] != DSX_ABSENT) {
    const ValueInfo &zw = program.values[step.inputs[3]];
    // An 8-bit constant (stored a byte per element: no packed codes).
    if (zw.storage != DSX_STORAGE_CONSTANT || (zw.dtype != DS_I8 && zw.dtype != DS_U8))
      return false;
    const unsigned char *z = program.constantData(zw);
    for (uint64_t i = 0; i < zw.bytes; ++i)
      if (z[i] != 0)
        return false;
  }
  return true;
}

/// Whether bf16 convolution weights [M, Cg, KH, KW] are what the direct
/// kernel packs: positive dims whose product is the bytes / 2, M divisible
/// by `group`, at least two channels per group (depthwise convolutions take
/// the f32 path).
bool bf16ConvWeightsFit(const ValueInfo &w, int64_t group) {
  return packableElements(w, 2) >= 0 && group > 0 && w.dims[0] % group == 0 && w.dims[1] >= 2;
}

} // namespace

Status Session::placeConstants() {
  // Who reads each constant other than as the weight of a weight-only
  // matmul (a graph output counts as a reader).
  const size_t numValues = program_.values.size();
  readElsewhere_.assign(numValues, 0);
  for (uint32_t id : program_.outputs)
    readElsewhere_[id] = 1;
  for (const Step &step : program_.steps)
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] != DSX_ABSENT && !(step.op == "ds.matmul_quantized_weight" && i == 1))
        readElsewhere_[step.inputs[i]] = 1;
  constants_.assign(numValues, nullptr);
  for (uint32_t id = 0; id < numValues; ++id) {
    const ValueInfo &v = program_.values[id];
    if (v.storage != DSX_STORAGE_CONSTANT)
      continue;
    constants_[id] = program_.constantData(v);
    if (!v.packedCodes)
      continue;
    // Packed 4-bit weights that only the weight-only matmul reads go
    // straight from the packed bytes into its NibbleMatrix, found by that
    // matrix's own bytes: the kernel then never reads the tensor's bytes
    // (cpu/QuantizedWeightMatmul.cpp), and no other constant can share
    // the key. Everything else reads the program's unpacked copy.
    if (!readElsewhere_[id] && codeBits(v.dtype) == 4 && v.dims.size() == 2 &&
        packableElements(v, 1) >= 0 && cpu::packsQuantizedWeights()) {
      const auto *packed = reinterpret_cast<const uint8_t *>(constants_[id]);
      const uint8_t *key = packed_.addNibblesFromPackedCodes(packed, v.dims[0], v.dims[1]);
      if (!key)
        return Status::error("cannot allocate " + std::to_string(v.storedBytes) +
                             " bytes for packed weights");
      program_.releaseConstantPages(packed, v.storedBytes);
      constants_[id] = key;
      continue;
    }
    if (!(constants_[id] = program_.unpackedCodes(id)))
      return Status::error("cannot allocate " + std::to_string(v.bytes) +
                           " bytes to unpack constant '" + v.name + "'");
  }
  return Status();
}

Status Session::packWeights() {
  const bool gemm = cpu::packedGemmAvailable(), nibbles = cpu::packsQuantizedWeights(),
             int8Conv = cpu::integerVnniKernelsAvailable(), bf16 = cpu::bf16GemmAvailable(),
             int8Matmul = cpu::integerPackedGemmIsa() != cpu::VectorIsa::None,
             int8ConvAvx2 = !int8Conv && cpu::integerPackedGemmIsa() == cpu::VectorIsa::Avx2;
  if (!gemm && !nibbles && !int8Conv && !int8Matmul && !bf16)
    return Status();
  auto outOfMemory = [](const ValueInfo &w) {
    return Status::error("cannot allocate " + std::to_string(w.bytes) + " bytes for packed weights");
  };
  for (const Step &step : program_.steps) {
    if (step.inputs.size() < 2 || step.inputs[0] == DSX_ABSENT || step.inputs[1] == DSX_ABSENT)
      continue;
    const ValueInfo &x = program_.values[step.inputs[0]], &w = program_.values[step.inputs[1]];
    // 4-bit weight codes held a byte each, packed two per byte.
    if (step.op == "ds.matmul_quantized_weight" && nibbles && w.storage == DSX_STORAGE_CONSTANT &&
        (w.dtype == DS_I4 || w.dtype == DS_U4) && w.dims.size() == 2 &&
        packableElements(w, 1) >= 0) {
      // Packed codes: placeConstants made the packed form (or the
      // program's unpacked copy, which other steps read, stays whole).
      const auto *codes = reinterpret_cast<const uint8_t *>(constants_[step.inputs[1]]);
      if (packed_.findNibbles(codes, w.dims[0], w.dims[1]))
        continue;
      // Bytes no writer of ours makes keep the byte-per-code path, which
      // reads them as they are.
      if (!cpu::canonicalFourBitCodes(codes, w.dims[0] * w.dims[1], w.dtype == DS_I4))
        continue;
      if (!packed_.addNibbles(codes, w.dims[0], w.dims[1]))
        return outOfMemory(w);
      if (!w.packedCodes && !readElsewhere_[step.inputs[1]])
        program_.releaseConstantPages(codes, w.bytes);
      continue;
    }
    // 8-bit weight codes in groups of 64 columns, read in order.
    if (step.op == "ds.matmul_quantized_weight" && nibbles && w.storage == DSX_STORAGE_CONSTANT &&
        (w.dtype == DS_I8 || w.dtype == DS_U8) && w.dims.size() == 2 &&
        packableElements(w, 1) >= 0) {
      const auto *codes = reinterpret_cast<const uint8_t *>(constants_[step.inputs[1]]);
      if (!packed_.addByteGroups(codes, w.dims[0], w.dims[1]))
        return outOfMemory(w);
      if (!readElsewhere_[step.inputs[1]]) // others read the artifact's bytes
        program_.releaseConstantPages(codes, w.bytes);
      continue;
    }
    // s8 matmul weights for the packed GEMM, VNNI or AVX2 (kept in the
    // artifact too, for weight zero points).
    if (step.op == "ds.matmul_integer" && int8Matmul && int8WeightsToPack(program_, step, 2)) {
      const auto *data = reinterpret_cast<const int8_t *>(program_.constantData(w));
      if (!packed_.addInt8Matrix(data, w.dims[0], w.dims[1]))
        return outOfMemory(w);
      // The AVX2 build's fallbacks read the artifact's bytes only for
      // weight zero points, which are not packed: the file's pages can go
      // (a reader would fault them back in).
      if (cpu::integerPackedGemmIsa() == cpu::VectorIsa::Avx2)
        program_.releaseConstantPages(data, w.bytes);
      continue;
    }
    // s8 convolution weights, per group: packed for the VNNI kernel, whose
    // im2col fallback still reads the artifact's copy (weight zero points,
    // geometries the kernel declines), so its pages stay; or widened to 16
    // bits for the AVX2 kernel on CPUs without VNNI, which declines no
    // packed geometry, so the file's pages can go as for the matmuls above.
    if (step.op == "ds.conv_integer" && (int8Conv || int8ConvAvx2) &&
        int8WeightsToPack(program_, step, 4)) {
      // Dims positive and their product the weights' bytes: no overflow.
      const int64_t group = step.attrs.getInt("group", 1), taps = w.dims[2] * w.dims[3];
      if (group <= 0 || group > w.dims[0] || w.dims[0] % group)
        continue;
      const auto *data = reinterpret_cast<const int8_t *>(program_.constantData(w));
      const int64_t rows = w.dims[0] / group, Cg = w.dims[1];
      for (int64_t g = 0; g < group; ++g) {
        const int8_t *part = data + g * rows * Cg * taps;
        if (!(int8Conv ? packed_.addInt8Conv(part, rows, Cg, taps)
                       : packed_.addInt8ConvAvx2(part, rows, Cg, taps)))
          return outOfMemory(w);
      }
      if (int8ConvAvx2)
        program_.releaseConstantPages(data, w.bytes);
      continue;
    }
    // bf16 convolution weights (ds-assign-precision's) for the AVX512-BF16
    // direct convolution, per group; the oneDNN path (geometries it
    // declines) reads the artifact's copy, whose pages stay.
    if (step.op == "ds.conv" && bf16 && w.storage == DSX_STORAGE_CONSTANT &&
        w.dtype == DS_BF16 && x.dtype == DS_BF16 && w.dims.size() == 4 &&
        bf16ConvWeightsFit(w, step.attrs.getInt("group", 1))) {
      const int64_t group = step.attrs.getInt("group", 1), taps = w.dims[2] * w.dims[3];
      const auto *data = reinterpret_cast<const uint16_t *>(program_.constantData(w));
      const int64_t rows = w.dims[0] / group;
      for (int64_t g = 0; g < group; ++g)
        if (!packed_.addBf16Conv(data + g * rows * w.dims[1] * taps, rows, w.dims[1], taps))
          return outOfMemory(w);
      continue;
    }
    // bf16 matmul weights (ds-assign-precision's) for the AVX512-BF16 GEMM.
    if (step.op == "ds.matmul" && bf16 && w.storage == DSX_STORAGE_CONSTANT &&
        w.dtype == DS_BF16 && x.dtype == DS_BF16 && w.dims.size() == 2 &&
        packableElements(w, 2) >= 0) {
      const auto *data = reinterpret_cast<const uint16_t *>(program_.constantData(w));
      if (!packed_.addBf16Matrix(data, w.dims[0], w.dims[1]))
        return outOfMemory(w);
      program_.releaseConstantPages(data, w.bytes);
      continue;
    }
    if (!gemm)
      continue;
    // f16 matmul weights (ds-assign-precision's fp16) widened and packed
    // once; the artifact's copy stays for other readers of the constant.
    if (step.op == "ds.matmul" && w.storage == DSX_STORAGE_CONSTANT && w.dtype == DS_F16 &&
        x.dtype == DS_F16 && w.dims.size() == 2 && packableElements(w, 2) >= 0) {
      if (!packed_.addWidened(reinterpret_cast<const uint16_t *>(program_.constantData(w)),
                              DS_F16, w.dims[0], w.dims[1]))
        return outOfMemory(w);
      continue;
    }
    // f16 convolution weights (ds-assign-precision's fp16): widened to f32
    // once, and that copy packed as f32 weights are below; the kernel
    // widens the input and runs the f32 convolution on it.
    const bool halfConv = step.op == "ds.conv" && w.storage == DSX_STORAGE_CONSTANT &&
                          w.dtype == DS_F16 && x.dtype == DS_F16 && w.dims.size() >= 3;
    if (!halfConv && (w.storage != DSX_STORAGE_CONSTANT || w.dtype != DS_F32 || x.dtype != DS_F32))
      continue;
    const float *data = reinterpret_cast<const float *>(program_.constantData(w));
    if (halfConv) {
      const int64_t elements = packableElements(w, 2);
      if (elements < 0)
        continue;
      if (!(data = packed_.addWidenedCopy(
                reinterpret_cast<const uint16_t *>(program_.constantData(w)), DS_F16, elements)))
        return outOfMemory(w);
    }
    if (step.op == "ds.matmul" && w.dims.size() == 2) {
      if (!packed_.add(data, w.dims[0], w.dims[1]))
        return outOfMemory(w);
    } else if (step.op == cpu::kTransposedWeightMatmul) { // N x K, read as its transpose
      if (!packed_.addTransposed(data, w.dims[0], w.dims[1]))
        return outOfMemory(w);
    } else if (step.op == "ds.conv" && w.dims.size() >= 3) {
      // Per group, the M/group x (C/group * taps) left operand of its GEMM;
      // depthwise convolutions run directly.
      int64_t group = step.attrs.getInt("group", 1), taps = 1;
      for (size_t d = 1; d < w.dims.size(); ++d)
        taps *= w.dims[d];
      if (group <= 0 || w.dims[0] == 0 || group > w.dims[0] || w.dims[0] % group ||
          w.dims[1] == 1)
        continue;
      const int64_t rowsPerGroup = w.dims[0] / group;
      if (convByPixels(program_, step)) { // M x K, read as its K x M transpose
        if (!packed_.findTransposed(data, w.dims[0], taps) &&
            !packed_.addTransposed(data, w.dims[0], taps))
          return outOfMemory(w);
      } else if (const int64_t variant = winogradVariant(program_, step)) {
        if (packed_.findSet(data, w.dims[0], w.dims[1], variant)) // shared with a conv before
          continue;
        cpu::PackedSet set;
        if (!cpu::transformWinogradWeights(data, w.dims[0], w.dims[1], variant, set))
          return outOfMemory(w);
        packed_.addSet(data, std::move(set));
      } else {
        for (int64_t g = 0; g < group; ++g)
          if (!packed_.addLeft(data + g * rowsPerGroup * taps, rowsPerGroup, taps))
            return outOfMemory(w);
      }
    } else {
      continue;
    }
    if (!halfConv) // the f16 constant may be read by other kinds of steps
      program_.releaseConstantPages(data, w.bytes);
  }
  context_.packed = packed_.size() ? &packed_ : nullptr;
  return Status();
}

Status Session::reserveArena(uint64_t bytes) {
  bytes = align64(bytes);
  if (bytes <= arenaCapacity_)
    return Status();
  void *grown = std::aligned_alloc(64, bytes);
  if (!grown)
    return Status::error("cannot allocate the " + std::to_string(bytes) +
                         "-byte activation arena for these input shapes");
  std::free(arena_);
  arena_ = grown;
  arenaCapacity_ = bytes;
  return Status();
}

Status Session::runDynamic(const ds_tensor *inputs, int32_t numInputs) {
  if (!shapes_.plannable)
    return runStepByStep(inputs, numInputs);
  std::vector<int64_t> key = shapeSignature(inputs, numInputs);
  auto found = plans_.find(key);
  if (found == plans_.end()) {
    auto plan = std::make_unique<ShapePlan>();
    Status built = buildShapePlan(program_, constants_, shapes_, inputs, context_, *plan);
    if (built.code() == DS_UNSUPPORTED) // a shape needs a value planning cannot know
      *plan = ShapePlan{/*stepByStep=*/true};
    else if (!built)
      return built;
    // Plans hold precomputed values and their own tensors: keep a bounded set.
    constexpr size_t kMaxCachedPlans = 64;
    if (plans_.size() >= kMaxCachedPlans)
      plans_.clear();
    found = plans_.emplace(std::move(key), std::move(plan)).first;
  }
  if (found->second->stepByStep)
    return runStepByStep(inputs, numInputs);
  return runPlanned(*found->second, inputs, numInputs);
}

Status Session::runPlanned(ShapePlan &plan, const ds_tensor *inputs, int32_t numInputs) {
  Status reserved = reserveArena(plan.arenaBytes);
  if (!reserved)
    return reserved;
  if (plan.boundArena != arena_) {
    for (size_t id = 0; id < plan.values.size(); ++id)
      if (plan.values[id].storage == DSX_STORAGE_ARENA && plan.hostData[id].empty())
        plan.tensors[id].data = static_cast<char *>(arena_) + plan.values[id].offset;
    plan.boundArena = arena_;
  }
  for (int32_t i = 0; i < numInputs; ++i)
    plan.tensors[program_.inputs[i]].data = inputs[i].data;
  Status ran = execute(plan.units, plan.tensors);
  if (!ran)
    return ran;
  collectOutputs(plan.tensors, plan.values, &plan);
  return Status();
}

Status Session::runStepByStep(const ds_tensor *inputs, int32_t numInputs) {
  // Each result gets its own buffer, sized after the steps before it ran;
  // buffers are kept for the next run.
  const size_t numValues = program_.values.size();
  std::vector<Tensor> tensors(numValues);
  std::vector<ValueInfo> values = program_.values;
  stepStorage_.resize(numValues);
  for (size_t id = 0; id < numValues; ++id) {
    const ValueInfo &v = program_.values[id];
    tensors[id] = Tensor{v.dtype, v.dims, nullptr};
    if (v.storage == DSX_STORAGE_CONSTANT)
      tensors[id].data = const_cast<unsigned char *>(constants_[id]);
  }
  for (int32_t i = 0; i < numInputs; ++i) {
    Tensor &t = tensors[program_.inputs[i]];
    t.shape.assign(inputs[i].dims, inputs[i].dims + inputs[i].rank);
    t.data = inputs[i].data;
  }
  std::vector<Shape> shapes;
  std::vector<ExecUnit> single(1);
  for (size_t s = 0; s < program_.steps.size(); ++s) {
    const Step &step = program_.steps[s];
    Status inferred = inferStepShapes(step, tensors, shapes);
    if (!inferred)
      return inferred;
    for (size_t k = 0; k < step.outputs.size(); ++k) {
      uint32_t id = step.outputs[k];
      Tensor &t = tensors[id];
      t.shape = shapes[k];
      values[id].dims = t.shape;
      values[id].bytes = t.bytes();
    }
    if (step.elided)
      continue;
    for (size_t k = 0; k < step.outputs.size(); ++k) {
      uint32_t id = step.outputs[k];
      Tensor &t = tensors[id];
      std::vector<uint64_t> &storage = stepStorage_[id];
      storage.resize(t.bytes() / 8 + 1);
      t.data = storage.data();
    }
    single[0].steps.assign(1, s);
    Status ran = execute(single, tensors);
    if (!ran)
      return ran;
  }
  collectOutputs(tensors, values, nullptr);
  return Status();
}

void Session::collectOutputs(const std::vector<Tensor> &tensors,
                             const std::vector<ValueInfo> &values, const ShapePlan *plan) {
  // Results of run-time steps are handed out in place; anything else (an
  // input, a constant, a value precomputed into a cached plan) is copied, so
  // the caller may write to every output without touching shared memory.
  auto inPlace = [&](uint32_t id) {
    return values[id].storage == DSX_STORAGE_ARENA && (!plan || plan->hostData[id].empty());
  };
  uint64_t copyBytes = 0;
  for (uint32_t id : program_.outputs)
    if (!inPlace(id))
      copyBytes += align64(tensors[id].bytes());
  outputCopies_.resize(copyBytes / 8 + 1);
  uint64_t offset = 0;
  for (size_t i = 0; i < program_.outputs.size(); ++i) {
    uint32_t id = program_.outputs[i];
    outputs_[i] = tensors[id];
    if (inPlace(id))
      continue;
    char *copy = reinterpret_cast<char *>(outputCopies_.data()) + offset;
    if (tensors[id].bytes())
      std::memcpy(copy, tensors[id].data, tensors[id].bytes());
    outputs_[i].data = copy;
    offset += align64(tensors[id].bytes());
  }
}

Status Session::run(const ds_tensor *inputs, int32_t numInputs) {
  if (program_.target != DSX_TARGET_CPU)
    return Status::error("the CPU backend cannot run an artifact compiled for another target "
                         "(recompile with --target=cpu)",
                         DS_UNSUPPORTED);
  Status valid = validateInputs(program_, inputs, numInputs);
  if (!valid)
    return valid;
  hasRun_ = false;
  if (profile_)
    profile_->beginRun();
  Status ran = runProgram(inputs, numInputs);
  if (profile_ && ran)
    profile_->endRun();
  hasRun_ = ran.ok();
  return ran;
}

Status Session::runProgram(const ds_tensor *inputs, int32_t numInputs) {
  if (program_.dynamic)
    return runDynamic(inputs, numInputs);
  for (int32_t i = 0; i < numInputs; ++i)
    tensors_[program_.inputs[i]].data = inputs[i].data;
  Status ran = execute(units_, tensors_);
  if (!ran)
    return ran;
  // Refreshed every run: the caller may have written into the last copies.
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const Tensor &source = tensors_[program_.outputs[i]];
    if (outputs_[i].data != source.data && program_.values[program_.outputs[i]].bytes)
      std::memcpy(outputs_[i].data, source.data, program_.values[program_.outputs[i]].bytes);
  }
  return Status();
}

} // namespace dsrt
