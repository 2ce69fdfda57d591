//===- CudaSteps.h - the steps of a cuda artifact, parsed and checked -*- C++ -*-===//
//
// The step vocabulary of docs/cuda-backend.md (cuda.launch, cuda.gemm,
// cuda.alias) as typed records. Parsing needs no driver, so a malformed cuda
// artifact is rejected at load time on any machine.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_CUDASTEPS_H
#define DS_RUNTIME_CORE_CUDASTEPS_H

#include "core/Artifact.h"

namespace dsrt {

/// A size a dynamic cuda program computes per run (ds_artifact_format.h,
/// dsx_size_op): the field or result dim `key` is `program` evaluated over
/// the sizes the dim symbols bind.
struct SizeEntry {
  int64_t key[2] = {0, 0}; ///< field; or output index, dim
  std::vector<int64_t> program;
};

/// The "dynamic_fields" (keyWidth 1, fields below `fields`) or
/// "dynamic_dims" (keyWidth 2) entries of `step`, checked: keys in range,
/// programs well formed (never popping an empty stack, one value left),
/// symbols of the program's table.
Status parseSizeEntries(const Program &program, const Step &step, const char *name, int keyWidth,
                        int64_t fields, std::vector<SizeEntry> &out);
/// Evaluates a checked program; false when it overflows, divides by a
/// non-positive number or gives a negative size.
bool evalSize(const std::vector<int64_t> &program, const std::vector<int64_t> &symbols,
              int64_t &out);

struct CudaLaunch {
  std::string kernel;
  uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  uint32_t sharedBytes = 0;
  std::vector<SizeEntry> dynamicGrid; ///< grid dims sized per run
};

enum class GemmEpilogue { None, Relu, Gelu, Bias, BiasRelu, BiasGelu };

/// Row-major D[b] = alpha * op(A[b]) * op(B[b]) (+ beta * C[b]) (+ bias), then the epilogue.
struct CudaGemm {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool transA = false, transB = false;
  int64_t strideA = 0, strideB = 0, strideD = 0; ///< elements between batches; 0 broadcasts
  float alpha = 1, beta = 0;
  GemmEpilogue epilogue = GemmEpilogue::None;
  std::vector<SizeEntry> dynamicFields; ///< m, n, k, batch, stride_a, stride_b, stride_d per run
  bool hasBias() const {
    return epilogue == GemmEpilogue::Bias || epilogue == GemmEpilogue::BiasRelu ||
           epilogue == GemmEpilogue::BiasGelu;
  }
};

/// Checks attrs (present, typed, in range) and operands (counts, dtypes, and
/// in a static program sizes).
Status parseCudaLaunch(const Program &program, const Step &step, CudaLaunch &out);
Status parseCudaGemm(const Program &program, const Step &step, CudaGemm &out);
/// The GEMM's operands as `values` size them: every batch the strides reach
/// lies inside A, B, C and D, the bias holds n elements. A dynamic program
/// checks this per input shape.
Status checkGemmOperands(const Step &step, const CudaGemm &g, const std::vector<ValueInfo> &values);
/// A launch grid within the device limits of sm_80+ (each dim >= 1).
bool gridWithinLimits(const int64_t (&grid)[3]);

/// Checks every step of a cuda program; called by the loader. Unknown ops are
/// DS_UNSUPPORTED, everything else DS_INVALID_ARTIFACT.
Status validateCudaProgram(const Program &program);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_CUDASTEPS_H
