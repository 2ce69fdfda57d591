//===- CudaSteps.cpp - the steps of a cuda artifact, parsed and checked ---===//
#include "core/CudaSteps.h"

#include "ds-runtime/ds_artifact_format.h"

namespace dsrt {
namespace {
Status invalid(const Step &step, const std::string &what) {
  return Status::error("invalid artifact: step '" + step.op + "': " + what, DS_INVALID_ARTIFACT);
}

/// An Int attribute that must be present and lie in [lo, hi].
bool intAttr(const Step &step, const char *name, int64_t lo, int64_t hi, int64_t &out,
             Status &error) {
  const Attribute *a = step.attrs.find(name);
  if (!a || a->kind != Attribute::Int) {
    error = invalid(step, std::string("missing integer attribute '") + name + "'");
    return false;
  }
  if (a->i < lo || a->i > hi) {
    error = invalid(step, std::string("attribute '") + name + "' = " + std::to_string(a->i) +
                              " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) +
                              "]");
    return false;
  }
  out = a->i;
  return true;
}

/// Three positive dims, each at most the matching limit.
bool dim3Attr(const Step &step, const char *name, const int64_t (&limit)[3], uint32_t (&out)[3],
              Status &error) {
  const Attribute *a = step.attrs.find(name);
  if (!a || a->kind != Attribute::Ints || a->ints.size() != 3) {
    error = invalid(step, std::string("attribute '") + name + "' must be 3 integers");
    return false;
  }
  for (int d = 0; d < 3; ++d) {
    if (a->ints[d] < 1 || a->ints[d] > limit[d]) {
      error = invalid(step, std::string("attribute '") + name + "' has dim " +
                                std::to_string(a->ints[d]) + " outside [1, " +
                                std::to_string(limit[d]) + "]");
      return false;
    }
    out[d] = (uint32_t)a->ints[d];
  }
  return true;
}

/// The grid limits of every architecture the compiler targets (sm_80+).
constexpr int64_t kGridLimit[3] = {2147483647, 65535, 65535};

bool isGemmType(DType t) { return t == DS_F32 || t == DS_F16 || t == DS_BF16; }

/// Bytes that a strided batch of `rows x cols` matrices spans; UINT64_MAX
/// when that overflows (a crafted step must not wrap past the check).
uint64_t spannedBytes(int64_t batch, int64_t stride, int64_t rows, int64_t cols, uint64_t size) {
  uint64_t steps, matrix, total, bytes;
  if (__builtin_mul_overflow((uint64_t)(batch - 1), (uint64_t)stride, &steps) ||
      __builtin_mul_overflow((uint64_t)rows, (uint64_t)cols, &matrix) ||
      __builtin_add_overflow(steps, matrix, &total) ||
      __builtin_mul_overflow(total, size, &bytes))
    return UINT64_MAX;
  return bytes;
}
} // namespace

Status parseSizeEntries(const Program &program, const Step &step, const char *name, int keyWidth,
                        int64_t fields, std::vector<SizeEntry> &out) {
  out.clear();
  const Attribute *a = step.attrs.find(name);
  if (!a)
    return Status();
  if (a->kind != Attribute::Ints)
    return invalid(step, std::string("attribute '") + name + "' must be integers");
  const std::vector<int64_t> &v = a->ints;
  const int64_t symbols = (int64_t)program.symbols.size();
  for (size_t at = 0; at < v.size();) {
    SizeEntry e;
    if (v.size() - at < (size_t)keyWidth + 1)
      return invalid(step, std::string("'") + name + "' ends inside an entry");
    for (int k = 0; k < keyWidth; ++k)
      e.key[k] = v[at++];
    int64_t pairs = v[at++];
    bool keyOk = keyWidth == 1 ? e.key[0] >= 0 && e.key[0] < fields
                               : e.key[0] >= 0 && e.key[0] < (int64_t)step.outputs.size() &&
                                     e.key[1] >= 0 &&
                                     e.key[1] < (int64_t)program.values[step.outputs[e.key[0]]]
                                                    .dims.size() &&
                                     program.values[step.outputs[e.key[0]]].dims[e.key[1]] < 0;
    if (!keyOk)
      return invalid(step, std::string("'") + name + "' names no dynamic field or dim");
    if (pairs < 1 || pairs > (int64_t)DSX_MAX_SIZE_PAIRS || (uint64_t)pairs * 2 > v.size() - at)
      return invalid(step, std::string("'") + name + "' has a size program of bad length");
    int64_t depth = 0;
    for (int64_t p = 0; p < pairs; ++p) {
      int64_t op = v[at + 2 * p], operand = v[at + 2 * p + 1];
      if (op == DSX_SIZE_CONST || op == DSX_SIZE_SYMBOL) {
        if (op == DSX_SIZE_SYMBOL && (operand < 0 || operand >= symbols))
          return invalid(step, std::string("'") + name + "' reads a dim symbol the program lacks");
        ++depth;
      } else if (op >= DSX_SIZE_ADD && op <= DSX_SIZE_OP_MAX && depth >= 2) {
        --depth;
      } else {
        return invalid(step, std::string("'") + name + "' has a malformed size program");
      }
    }
    if (depth != 1)
      return invalid(step, std::string("'") + name + "' has a malformed size program");
    e.program.assign(v.begin() + at, v.begin() + at + 2 * pairs);
    at += 2 * pairs;
    out.push_back(std::move(e));
  }
  return Status();
}

bool evalSize(const std::vector<int64_t> &program, const std::vector<int64_t> &symbols,
              int64_t &out) {
  int64_t stack[DSX_MAX_SIZE_PAIRS];
  int depth = 0;
  for (size_t p = 0; p + 1 < program.size(); p += 2) {
    int64_t op = program[p], operand = program[p + 1];
    if (op == DSX_SIZE_CONST || op == DSX_SIZE_SYMBOL) {
      stack[depth] = op == DSX_SIZE_CONST ? operand : symbols[(size_t)operand];
      if (op == DSX_SIZE_SYMBOL && stack[depth] < 0)
        return false; // a symbol no input binds
      ++depth;
      continue;
    }
    int64_t b = stack[--depth], &a = stack[depth - 1];
    if ((op == DSX_SIZE_ADD && __builtin_add_overflow(a, b, &a)) ||
        (op == DSX_SIZE_MUL && __builtin_mul_overflow(a, b, &a)))
      return false;
    if (op == DSX_SIZE_CEILDIV) {
      if (b <= 0 || a < 0)
        return false;
      a = a / b + (a % b != 0);
    }
  }
  out = stack[0];
  return out >= 0;
}

bool gridWithinLimits(const int64_t (&grid)[3]) {
  for (int d = 0; d < 3; ++d)
    if (grid[d] < 1 || grid[d] > kGridLimit[d])
      return false;
  return true;
}

Status parseCudaLaunch(const Program &program, const Step &step, CudaLaunch &out) {
  if (Status s = parseSizeEntries(program, step, "dynamic_fields", 1, 3, out.dynamicGrid); !s)
    return s;
  const Attribute *kernel = step.attrs.find("kernel");
  if (!kernel || kernel->kind != Attribute::String || kernel->s.empty() || kernel->s.size() > 1024 ||
      kernel->s.find('\0') != std::string::npos)
    return invalid(step, "missing or bad string attribute 'kernel'");
  out.kernel = kernel->s;
  Status error;
  if (!dim3Attr(step, "grid", kGridLimit, out.grid, error) ||
      !dim3Attr(step, "block", {1024, 1024, 64}, out.block, error))
    return error;
  if ((uint64_t)out.block[0] * out.block[1] * out.block[2] > 1024)
    return invalid(step, "block has more than 1024 threads");
  int64_t shared = 0;
  if (!intAttr(step, "shared_bytes", 0, 232448, shared, error)) // 227 KiB: sm_90's maximum
    return error;
  out.sharedBytes = (uint32_t)shared;
  if (step.outputs.empty())
    return invalid(step, "a kernel launch without outputs");
  return Status();
}

Status parseCudaGemm(const Program &program, const Step &step, CudaGemm &g) {
  Status error;
  const int64_t big = (int64_t)1 << 40;
  int64_t transA = 0, transB = 0;
  if (!intAttr(step, "m", 1, INT32_MAX, g.m, error) ||
      !intAttr(step, "n", 1, INT32_MAX, g.n, error) ||
      !intAttr(step, "k", 1, INT32_MAX, g.k, error) ||
      !intAttr(step, "batch", 1, INT32_MAX, g.batch, error) ||
      !intAttr(step, "trans_a", 0, 1, transA, error) ||
      !intAttr(step, "trans_b", 0, 1, transB, error) ||
      !intAttr(step, "stride_a", 0, big, g.strideA, error) ||
      !intAttr(step, "stride_b", 0, big, g.strideB, error) ||
      !intAttr(step, "stride_d", 0, big, g.strideD, error))
    return error;
  g.transA = transA, g.transB = transB;
  g.alpha = (float)step.attrs.getFloat("alpha", 1.0);
  g.beta = (float)step.attrs.getFloat("beta", 0.0);
  const Attribute *epilogue = step.attrs.find("epilogue");
  std::string e = epilogue && epilogue->kind == Attribute::String ? epilogue->s : "";
  if (e == "none") g.epilogue = GemmEpilogue::None;
  else if (e == "relu") g.epilogue = GemmEpilogue::Relu;
  else if (e == "gelu") g.epilogue = GemmEpilogue::Gelu;
  else if (e == "bias") g.epilogue = GemmEpilogue::Bias;
  else if (e == "bias_relu") g.epilogue = GemmEpilogue::BiasRelu;
  else if (e == "bias_gelu") g.epilogue = GemmEpilogue::BiasGelu;
  else
    return invalid(step, "missing or unknown 'epilogue' '" + e + "'");

  // inputs: A, B, bias (or absent), C (or absent); output: D.
  if (step.inputs.size() < 2 || step.inputs.size() > 4 || step.outputs.size() != 1)
    return invalid(step, "expects inputs A, B[, bias[, C]] and one output");
  auto input = [&](size_t i) -> const ValueInfo * {
    return i < step.inputs.size() && step.inputs[i] != DSX_ABSENT
               ? &program.values[step.inputs[i]]
               : nullptr;
  };
  const ValueInfo *a = input(0), *b = input(1), *bias = input(2), *c = input(3);
  const ValueInfo &d = program.values[step.outputs[0]];
  if (!a || !b)
    return invalid(step, "A and B must be present");
  if (!isGemmType(a->dtype) || a->dtype != b->dtype || !isGemmType(d.dtype))
    return invalid(step, "A and B must share one of f32 / f16 / bf16, and D be one of them");
  if (g.hasBias() != (bias != nullptr))
    return invalid(step, "a bias operand goes with a bias epilogue, and only then");
  if (bias && !isGemmType(bias->dtype))
    return invalid(step, "bias must be f32 / f16 / bf16");
  if (g.beta != 0 && !c)
    return invalid(step, "beta is non-zero but C is absent");
  if (c && c->dtype != d.dtype)
    return invalid(step, "C and D must have the same element type");
  if (Status s = parseSizeEntries(program, step, "dynamic_fields", 1, DSX_GEMM_FIELD_COUNT,
                                  g.dynamicFields);
      !s)
    return s;
  return program.dynamic ? Status() : checkGemmOperands(step, g, program.values);
}

Status checkGemmOperands(const Step &step, const CudaGemm &g, const std::vector<ValueInfo> &values) {
  auto input = [&](size_t i) -> const ValueInfo * {
    return i < step.inputs.size() && step.inputs[i] != DSX_ABSENT ? &values[step.inputs[i]]
                                                                  : nullptr;
  };
  const ValueInfo *a = input(0), *b = input(1), *bias = input(2), *c = input(3);
  const ValueInfo &d = values[step.outputs[0]];
  if (bias && bias->bytes != (uint64_t)g.n * dtypeSize(bias->dtype))
    return invalid(step, "bias must hold n elements");
  // Every batch the strides reach must lie inside the operands.
  auto fits = [&](const ValueInfo &v, int64_t stride, int64_t rows, int64_t cols) {
    return spannedBytes(g.batch, stride, rows, cols, dtypeSize(v.dtype)) <= v.bytes;
  };
  if (!fits(*a, g.strideA, g.m, g.k) || !fits(*b, g.strideB, g.k, g.n) ||
      !fits(d, g.strideD, g.m, g.n) || (c && !fits(*c, g.strideD, g.m, g.n)))
    return invalid(step, "m, n, k, batch and the strides reach past an operand");
  if (g.batch > 1 && g.strideD < g.m * g.n)
    return invalid(step, "stride_d must separate the batches of D");
  return Status();
}

Status validateCudaProgram(const Program &program) {
  bool launches = false;
  for (const Step &step : program.steps) {
    Status s;
    if (step.op == "cuda.launch") {
      CudaLaunch launch;
      s = parseCudaLaunch(program, step, launch);
      launches = true;
    } else if (step.op == "cuda.gemm") {
      CudaGemm gemm;
      s = parseCudaGemm(program, step, gemm);
    } else if (step.op == "cuda.alias") {
      if (step.inputs.size() != 1 || step.outputs.size() != 1 || step.inputs[0] == DSX_ABSENT)
        s = invalid(step, "expects one input and one output");
    } else {
      s = Status::error("no CUDA implementation of step '" + step.op + "'", DS_UNSUPPORTED);
    }
    if (s && step.op != "cuda.alias" && step.op != "cuda.launch" && step.op != "cuda.gemm")
      continue;
    std::vector<SizeEntry> dims;
    if (s)
      s = parseSizeEntries(program, step, "dynamic_dims", 2, 0, dims);
    // Every dynamic result dim has its size program, once.
    size_t dynamicDims = 0;
    for (uint32_t id : step.outputs)
      for (int64_t d : program.values[id].dims)
        dynamicDims += d < 0;
    if (s && dims.size() != dynamicDims)
      s = invalid(step, "every dynamic result dim needs one 'dynamic_dims' entry");
    for (size_t i = 0; s && i < dims.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (dims[i].key[0] == dims[j].key[0] && dims[i].key[1] == dims[j].key[1])
          s = invalid(step, "a result dim has two 'dynamic_dims' entries");
    if (!s)
      return s;
  }
  if (launches && program.images.empty())
    return Status::error("invalid artifact: kernel launches but no kernel images",
                         DS_INVALID_ARTIFACT);
  return Status();
}

} // namespace dsrt
