//===- IntegerMatmulKernels.cpp - ds.matmul_integer -----------------------===//
//
// (A - za)(B - zb) of 8-bit operands, exact in i32 (wrapping past 2^31 as
// ONNX MatMulInteger's int32 accumulation does). Constant s8 weights with no
// zero point, packed when the session starts, run on
// cpu/IntegerPackedGemm.h (VNNI or AVX2). Otherwise, on a CPU with VNNI it runs on
// oneDNN's int8 GEMM (u8 or s8 A, s8 B): a u8 B is shifted to s8 with its zero
// point, and a per-column B zero point is applied afterwards as
// C[i][j] -= zb[j] * sum_k (A[i][k] - za). On AVX2 without VNNI, the
// widened 16-bit GEMM (cpu/WidenedIntegerGemm.h); elsewhere, exact loops.
//
//===----------------------------------------------------------------------===//
#include "cpu/ContractionShapes.h"
#include "cpu/Gemm.h"
#include "cpu/IntegerPackedGemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"
#include "cpu/WidenedIntegerGemm.h"

#include <vector>

namespace dsrt::cpu {
namespace {

/// The zero point of an 8-bit operand as int (0 when absent).
int zeroPointAt(const Tensor *zp, int64_t i) {
  if (!zp)
    return 0;
  return zp->dtype == DS_U8 ? (int)zp->as<uint8_t>()[i] : (int)zp->as<int8_t>()[i];
}

/// What the GEMMs of one ds.matmul_integer read.
struct IntegerOperands {
  const void *a = nullptr;
  bool aSigned = false;
  int za = 0;
  const int8_t *b = nullptr; ///< s8 (a u8 rhs shifted by 128 into `shifted`)
  std::vector<int8_t> shifted;
  std::vector<int> zb; ///< per column, in the s8 domain of `b`
  bool zbUniform = true;
};

/// Rows [r0, r1) of C = (A - za)(B - zb) for one batch entry with exact
/// wrapping loops over 8-bit data.
template <typename AT>
void exactRows(const AT *a, int za, const int8_t *b, const std::vector<int> &zb, int32_t *c,
               int64_t r0, int64_t r1, int64_t N, int64_t K) {
  std::vector<uint32_t> acc((size_t)N);
  for (int64_t i = r0; i < r1; ++i) {
    std::fill(acc.begin(), acc.end(), 0u);
    for (int64_t k = 0; k < K; ++k) {
      int32_t av = (int32_t)a[i * K + k] - za;
      if (av == 0)
        continue;
      const int8_t *brow = b + k * N;
      for (int64_t j = 0; j < N; ++j)
        acc[(size_t)j] += (uint32_t)(av * ((int32_t)brow[j] - zb[(size_t)j]));
    }
    for (int64_t j = 0; j < N; ++j)
      c[i * N + j] = (int32_t)acc[(size_t)j];
  }
}

/// `rows` rows of C from A rows `a` and B `b` (one batch entry, or the batch
/// folded into the rows): oneDNN's int8 GEMM on row blocks, or exact loops.
void integerGemm(KernelContext &ctx, bool nested, const IntegerOperands &op, const void *a,
                 const int8_t *b, int32_t *c, int64_t rows, int64_t N, int64_t K) {
  if (dnnl::int8Available()) {
    int8_t bo = op.zbUniform ? (int8_t)op.zb[0] : 0;
    forGemmRowBlocks(ctx, nested, rows, N, K, [&](int64_t r0, int64_t r1) {
      const void *ar = (const char *)a + r0 * K; // one byte per element
      bool ok = dnnl::gemmS32(op.aSigned, r1 - r0, N, K, ar, K, op.za, b, N, bo, c + r0 * N, N);
      if (!ok) { // not expected once int8Available(): fall back to exact loops
        if (op.aSigned)
          exactRows((const int8_t *)a, op.za, b, op.zb, c, r0, r1, N, K);
        else
          exactRows((const uint8_t *)a, op.za, b, op.zb, c, r0, r1, N, K);
        return;
      }
      if (op.zbUniform)
        return;
      // Per-column zero points: C[i][j] -= zb[j] * sum_k (A[i][k] - za).
      for (int64_t i = r0; i < r1; ++i) {
        uint32_t sum = 0;
        for (int64_t k = 0; k < K; ++k)
          sum += (uint32_t)((op.aSigned ? (int32_t)((const int8_t *)a)[i * K + k]
                                        : (int32_t)((const uint8_t *)a)[i * K + k]) -
                            op.za);
        for (int64_t j = 0; j < N; ++j)
          c[i * N + j] = (int32_t)((uint32_t)c[i * N + j] - (uint32_t)op.zb[(size_t)j] * sum);
      }
    });
    return;
  }
  if (widenedIntegerGemmAvailable()) {
    std::vector<int> za((size_t)rows, op.za);
    WidenedGemmOperands gemm;
    gemm.a = a, gemm.aSigned = op.aSigned, gemm.lda = K, gemm.za = za.data();
    gemm.b = b, gemm.ldb = N, gemm.zb = op.zb.data();
    gemm.c = c, gemm.ldc = N, gemm.M = rows, gemm.K = K, gemm.N = N;
    widenedIntegerGemm(ctx, nested, gemm);
    return;
  }
  auto body = [&](int64_t r0, int64_t r1) {
    if (op.aSigned)
      exactRows((const int8_t *)a, op.za, b, op.zb, c, r0, r1, N, K);
    else
      exactRows((const uint8_t *)a, op.za, b, op.zb, c, r0, r1, N, K);
  };
  if (nested) {
    body(0, rows);
    return;
  }
  parallel(ctx, rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, N * K)), body);
}

/// ds.matmul_integer; with an `epilogue`, `applied` says whether the packed
/// VNNI GEMM ran it (then y is not written).
Status matmulInteger(KernelContext &ctx, const Inputs &in, const Outputs &out,
                     const StoreEpilogue *epilogue, bool &applied) {
  const char *op = "ds.matmul_integer";
  applied = false;
  if (Status s = checkOperands(op, in, 2, out, 1, /*checkOptional=*/true); !s)
    return s;
  const Tensor &a = *in[0], &b = *in[1];
  const Tensor *za = in.size() > 2 ? in[2] : nullptr, *zb = in.size() > 3 ? in[3] : nullptr;
  Tensor &y = *out[0];
  auto isByte = [](DType t) { return t == DS_U8 || t == DS_I8; };
  if (!isByte(a.dtype) || !isByte(b.dtype) || y.dtype != DS_I32)
    return fail(op, std::string("expects 8-bit operands and an i32 result, got ") +
                        dtypeName(a.dtype) + " x " + dtypeName(b.dtype) + " -> " +
                        dtypeName(y.dtype));
  if ((za && za->dtype != a.dtype) || (zb && zb->dtype != b.dtype))
    return fail(op, "zero points must have their operand's element type");
  std::vector<Shape> shapes(1);
  if (Status s = matmulIntegerShape(Attributes(), in, shapes); !s)
    return s;
  MatmulPlan plan;
  if (Status s = planMatmul(op, a, b, y, plan); !s)
    return s;
  if (y.numel() == 0)
    return Status();
  const int64_t M = plan.M, N = plan.N, K = plan.K;
  IntegerOperands ops;
  ops.a = a.data;
  ops.aSigned = a.dtype == DS_I8;
  ops.za = zeroPointAt(za, 0);
  ops.zb.assign((size_t)N, 0);
  const bool perColumn = zb && zb->numel() != 1;
  for (int64_t j = 0; j < N; ++j)
    ops.zb[(size_t)j] = zeroPointAt(zb, perColumn ? j : 0);
  if (b.dtype == DS_U8) {
    // u8 -> s8 by subtracting 128 from data and zero points alike.
    ops.shifted.resize((size_t)b.numel());
    const uint8_t *src = b.as<uint8_t>();
    for (int64_t i = 0; i < b.numel(); ++i)
      ops.shifted[(size_t)i] = (int8_t)((int)src[i] - 128);
    for (int &z : ops.zb)
      z -= 128;
    ops.b = ops.shifted.data();
  } else {
    ops.b = b.as<int8_t>();
  }
  for (int z : ops.zb)
    ops.zbUniform &= z == ops.zb[0];
  int32_t *C = y.as<int32_t>();
  // s8 weights without a zero point, packed at load (static and dynamic
  // quantization's, onnxruntime's symmetric ones).
  bool weightZeroPoint = false;
  for (int z : ops.zb)
    weightZeroPoint |= z != 0;
  const PackedInt8Matrix *packed = nullptr;
  if (ctx.packed && b.dtype == DS_I8 && !weightZeroPoint && plan.bShared && b.rank() == 2)
    packed = ctx.packed->findInt8Matrix(b.data, K, N);
  if (packed && epilogue && plan.aDense && packed->columns == PackedInt8Matrix::kColumns &&
      integerVnniKernelsAvailable()) {
    // One GEMM over every row (the weights are shared): the epilogue's rows
    // are the result's.
    integerPackedGemm(ctx, false, *packed, ops.a, ops.aSigned, ops.za, plan.batch * M, K, C, N,
                      epilogue, 0);
    applied = true;
    return Status();
  }
  if (packed) {
    forEachMatmulGemm(ctx, plan, [&](bool nested, int64_t i, int64_t rows) {
      integerPackedGemm(ctx, nested, *packed, (const char *)ops.a + plan.aOff[(size_t)i] * M * K,
                        ops.aSigned, ops.za, rows, K, C + i * M * N, N);
      return true;
    });
    return Status();
  }
  forEachMatmulGemm(ctx, plan, [&](bool nested, int64_t i, int64_t rows) {
    integerGemm(ctx, nested, ops, (const char *)ops.a + plan.aOff[(size_t)i] * M * K,
                ops.b + plan.bOff[(size_t)i] * K * N, C + i * M * N, rows, N, K);
    return true;
  });
  return Status();
}

Status matmulIntegerKernel(KernelContext &ctx, const Attributes &, const Inputs &in,
                           const Outputs &out) {
  bool applied = false;
  return matmulInteger(ctx, in, out, nullptr, applied);
}

} // namespace

Status matmulIntegerWithEpilogue(KernelContext &ctx, const Attributes &,
                                 const std::vector<const Tensor *> &in,
                                 const std::vector<Tensor *> &out, const StoreEpilogue &epilogue,
                                 bool &applied) {
  return matmulInteger(ctx, in, out, &epilogue, applied);
}

void registerIntegerMatmulKernels(KernelTable &table) {
  table["ds.matmul_integer"] = CpuOp(matmulIntegerKernel, matmulIntegerShape);
}

} // namespace dsrt::cpu
