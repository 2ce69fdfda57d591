//===- IntegerConvKernels.cpp - ds.conv_integer ---------------------------===//
//
// (X - zx) * (W - zw) of 8-bit data, exact in i32 (ONNX ConvInteger). 2-D
// convolutions with s8 weights packed at load and no weight zero point run
// on cpu/IntegerDirectConv.h (VNNI) or cpu/IntegerConvAvx2.h (AVX2 without
// it). Otherwise: im2col
// of the input, padded with its zero point, then per group the integer GEMM
// C[M, positions] = (W - zw)(col - zx). Both operands go to s8 (a u8 one
// shifted by 128, its zero point with it) for oneDNN's s8 x s8 GEMM where the
// CPU has VNNI; a per-channel weight zero point is applied afterwards as
// C[m][q] -= zw[m] * sum_k (col[k][q] - zx). On AVX2 without VNNI, the
// widened 16-bit GEMM (cpu/WidenedIntegerGemm.h); elsewhere, exact loops.
//
//===----------------------------------------------------------------------===//
#include "cpu/ContractionShapes.h"
#include "cpu/Gemm.h"
#include "cpu/IntegerConvAvx2.h"
#include "cpu/IntegerDirectConv.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/WidenedIntegerGemm.h"
#include "cpu/Window.h"

#include <vector>

namespace dsrt::cpu {
namespace {

int byteValue(const Tensor &t, int64_t i) {
  return t.dtype == DS_U8 ? (int)t.as<uint8_t>()[i] : (int)t.as<int8_t>()[i];
}

/// 8-bit data as s8: u8 shifted down by 128 (its zero points shift alike).
std::vector<int8_t> asSigned(const Tensor &t) {
  std::vector<int8_t> s((size_t)t.numel());
  if (t.dtype == DS_U8) {
    const uint8_t *u = t.as<uint8_t>();
    for (size_t i = 0; i < s.size(); ++i)
      s[i] = (int8_t)((int)u[i] - 128);
  } else {
    std::memcpy(s.data(), t.data, s.size());
  }
  return s;
}

/// C[m][q] = sum_k (A[m][k] - za[m]) (B[k][q] - zb), wrapping like i32.
void exactGemm(const int8_t *a, const std::vector<int> &za, const int8_t *b, int zb, int32_t *c,
               int64_t m0, int64_t m1, int64_t N, int64_t K, int64_t ldc) {
  std::vector<uint32_t> acc((size_t)N);
  for (int64_t m = m0; m < m1; ++m) {
    std::fill(acc.begin(), acc.end(), 0u);
    for (int64_t k = 0; k < K; ++k) {
      int32_t av = (int32_t)a[m * K + k] - za[(size_t)m];
      if (av == 0)
        continue;
      const int8_t *brow = b + k * N;
      for (int64_t q = 0; q < N; ++q)
        acc[(size_t)q] += (uint32_t)(av * ((int32_t)brow[q] - zb));
    }
    for (int64_t q = 0; q < N; ++q)
      c[m * ldc + q] = (int32_t)acc[(size_t)q];
  }
}

/// ds.conv_integer; with an `epilogue`, `applied` says whether the VNNI
/// path ran it (then y is not written).
Status convInteger(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                   const Outputs &out, const StoreEpilogue *epilogue, bool &applied) {
  const char *op = "ds.conv_integer";
  applied = false;
  if (Status s = checkOperands(op, in, 2, out, 1, /*checkOptional=*/true); !s)
    return s;
  const Tensor &x = *in[0], &wt = *in[1];
  const Tensor *zx = in.size() > 2 ? in[2] : nullptr, *zw = in.size() > 3 ? in[3] : nullptr;
  Tensor &y = *out[0];
  auto isByte = [](DType t) { return t == DS_U8 || t == DS_I8; };
  if (!isByte(x.dtype) || !isByte(wt.dtype) || y.dtype != DS_I32)
    return fail(op, std::string("expects 8-bit operands and an i32 result, got ") +
                        dtypeName(x.dtype) + " x " + dtypeName(wt.dtype) + " -> " +
                        dtypeName(y.dtype));
  if ((zx && zx->dtype != x.dtype) || (zw && zw->dtype != wt.dtype))
    return fail(op, "zero points must have their operand's element type");
  // The shape function checks ranks, group, zero points and the window.
  if (Status s = checkResultShape(op, convIntegerShape, attrs, in, y); !s)
    return s;
  const int64_t group = attrs.getInt("group", 1);
  const int64_t N = x.shape[0], C = x.shape[1], M = wt.shape[0];
  Window w;
  if (Status s = readWindowAttrs(op, attrs, x.rank() - 2, w); !s)
    return s;
  setWindowShapes(x, wt.shape, y, w);
  w.finish();
  if (y.numel() == 0)
    return Status();

  // s8 weights without a zero point, packed at load: the VNNI kernel reads
  // the input in place (what static quantization and onnxruntime's QDQ
  // models give: symmetric s8 weights).
  bool weightZeroPoint = false;
  for (int64_t i = 0; zw && i < zw->numel(); ++i)
    weightZeroPoint |= byteValue(*zw, i) != 0;
  if (wt.dtype == DS_I8 && !weightZeroPoint &&
      runIntegerDirectConv2D(ctx, x.data, x.dtype == DS_I8, zx ? byteValue(*zx, 0) : 0,
                             wt.as<int8_t>(), y.as<int32_t>(), N, C, M, group, w, epilogue)) {
    applied = epilogue != nullptr;
    return Status();
  }
  // The same on AVX2 CPUs without VNNI, weights widened at load.
  if (wt.dtype == DS_I8 && !weightZeroPoint &&
      runIntegerConvAvx2(ctx, x.data, x.dtype == DS_I8, zx ? byteValue(*zx, 0) : 0, wt.as<int8_t>(),
                         y.as<int32_t>(), N, C, M, group, w))
    return Status();

  // Both operands in s8, zero points in the same domain.
  const int xShift = x.dtype == DS_U8 ? 128 : 0, wShift = wt.dtype == DS_U8 ? 128 : 0;
  std::vector<int8_t> xs = asSigned(x), ws = asSigned(wt);
  const int zxs = (zx ? byteValue(*zx, 0) : 0) - xShift;
  std::vector<int> zws((size_t)M);
  const bool perChannel = zw && zw->numel() != 1;
  for (int64_t m = 0; m < M; ++m)
    zws[(size_t)m] = (zw ? byteValue(*zw, perChannel ? m : 0) : 0) - wShift;
  bool uniform = true;
  for (int z : zws)
    uniform &= z == zws[0];

  const int64_t Cg = C / group, Mg = M / group, rows = Cg * w.kernelSize, OO = w.outSize;
  std::vector<int8_t> col((size_t)(rows * OO));
  std::vector<uint32_t> colSums;
  int32_t *Y = y.as<int32_t>();
  const bool vnni = dnnl::int8Available();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < group; ++g) {
      const int8_t *xg = xs.data() + (n * C + g * Cg) * w.inSize;
      im2col(ctx, xg, Cg, w, 0, OO, col.data(), (int8_t)zxs);
      const int8_t *wg = ws.data() + g * Mg * rows;
      int32_t *yg = Y + (n * M + g * Mg) * OO;
      std::vector<int> zg(zws.begin() + g * Mg, zws.begin() + (g + 1) * Mg);
      if (!vnni && widenedIntegerGemmAvailable()) {
        std::vector<int> zcol((size_t)OO, zxs);
        WidenedGemmOperands gemm;
        gemm.a = wg, gemm.aSigned = true, gemm.lda = rows, gemm.za = zg.data();
        gemm.b = col.data(), gemm.ldb = OO, gemm.zb = zcol.data();
        gemm.c = yg, gemm.ldc = OO, gemm.M = Mg, gemm.K = rows, gemm.N = OO;
        widenedIntegerGemm(ctx, /*nested=*/false, gemm);
        continue;
      }
      if (!vnni) {
        parallel(ctx, Mg, 1, [&](int64_t m0, int64_t m1) {
          exactGemm(wg, zg, col.data(), zxs, yg, m0, m1, OO, rows, OO);
        });
        continue;
      }
      // Per-channel zero points are applied after the GEMM, by either path.
      const std::vector<int> gemmZero = uniform ? zg : std::vector<int>(zg.size(), 0);
      forGemmRowBlocks(ctx, false, Mg, OO, rows, [&](int64_t m0, int64_t m1) {
        if (!dnnl::gemmS32(true, m1 - m0, OO, rows, wg + m0 * rows, rows, gemmZero[0],
                           col.data(), OO, (int8_t)zxs, yg + m0 * OO, OO))
          exactGemm(wg, gemmZero, col.data(), zxs, yg, m0, m1, OO, rows, OO);
      });
      if (uniform)
        continue;
      // Per-channel weight zero points: subtract zw[m] * sum_k (col - zx).
      // Wrapping sums (unsigned), as the i32 accumulation they correct.
      colSums.assign((size_t)OO, 0u);
      for (int64_t k = 0; k < rows; ++k)
        for (int64_t q = 0; q < OO; ++q)
          colSums[(size_t)q] += (uint32_t)((int32_t)col[(size_t)(k * OO + q)] - zxs);
      parallel(ctx, Mg, 1, [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m)
          for (int64_t q = 0; q < OO; ++q)
            yg[m * OO + q] = (int32_t)((uint32_t)yg[m * OO + q] -
                                       (uint32_t)zg[(size_t)m] * colSums[(size_t)q]);
      });
    }
  return Status();
}

Status convIntegerKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                         const Outputs &out) {
  bool applied;
  return convInteger(ctx, attrs, in, out, nullptr, applied);
}

} // namespace

Status convIntegerWithEpilogue(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                               const Outputs &out, const StoreEpilogue &epilogue,
                               bool &applied) {
  return convInteger(ctx, attrs, in, out, &epilogue, applied);
}

void registerIntegerConvKernels(KernelTable &table) {
  table["ds.conv_integer"] = CpuOp(convIntegerKernel, convIntegerShape);
}

} // namespace dsrt::cpu
