//===- TransposedWeightMatmul.cpp - a b^T for a constant b read in place --===//
//
// A language model whose output head shares the embedding table (GPT-2,
// tied word embeddings) multiplies by the table transposed: the export
// writes Transpose(table) -> MatMul, and the compiler keeps the transpose
// rather than store the table twice. Run as written, every step transposes
// the whole table (vocab x hidden floats) to read it once. The session
// instead gives such matmuls this kernel (core/WeightTransposes.cpp), which
// reads the N x K table as it is: packed once at load as the K x N right
// operand of the packed GEMM, or through a GEMM that reads B transposed.
//
//===----------------------------------------------------------------------===//
#include "cpu/Gemm.h"
#include "cpu/Kernels.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {
namespace {

const char *const kOp = kTransposedWeightMatmul;

/// a: [..., K] (rank >= 1), b: [N, K] f32 -> [..., N].
Status resultShape(const Shape &a, const Shape &b, Shape &y) {
  if (a.empty() || b.size() != 2)
    return fail(kOp, "operands " + shapeText(a) + " and " + shapeText(b) +
                         " are not [..., K] and [N, K]");
  if (a.back() != b[1])
    return fail(kOp, "contraction dims differ: " + shapeText(a) + " times the transpose of " +
                         shapeText(b));
  y.assign(a.begin(), a.end() - 1);
  y.push_back(b[0]);
  return Status();
}

Status transposedWeightShape(const Attributes &, const Inputs &in, Shapes &out) {
  if (Status s = needShapes(kOp, in, 2, out, 1); !s)
    return s;
  return resultShape(in[0]->shape, in[1]->shape, out[0]);
}

Status transposedWeightKernel(KernelContext &ctx, const Attributes &, const Inputs &in,
                              const Outputs &out) {
  if (Status s = need(kOp, in, out, 2, 1); !s)
    return s;
  const Tensor &a = *in[0], &b = *in[1];
  Tensor &y = *out[0];
  if (a.dtype != DS_F32 || b.dtype != DS_F32 || y.dtype != DS_F32)
    return fail(kOp, "operands and result must be f32");
  Shape expect;
  if (Status s = resultShape(a.shape, b.shape, expect); !s)
    return s;
  if (expect != y.shape)
    return fail(kOp, "result " + shapeText(y.shape) + " should be " + shapeText(expect));
  const int64_t N = b.shape[0], K = b.shape[1];
  int64_t rows = K ? a.numel() / K : 0;
  if (y.numel() == 0)
    return Status();
  const float *A = a.as<float>(), *B = b.as<float>();
  float *Y = y.as<float>();
  if (rows == 0 && !a.shape.empty()) // K == 0: every sum is empty
    rows = y.numel() / N;
  if (const PackedMatrix *packed = ctx.packed ? ctx.packed->findTransposed(B, N, K) : nullptr)
    packedGemm(ctx, rows, A, K, *packed, Y, N, false);
  else
    gemm(ctx, false, false, true, rows, N, K, A, K, B, K, Y, N, false);
  return Status();
}

} // namespace

const CpuOp &transposedWeightMatmul() {
  static const CpuOp op(transposedWeightKernel, transposedWeightShape);
  return op;
}

} // namespace dsrt::cpu
