//===- IntegerDirectConv.cpp - 8-bit convolution on VNNI, no im2col -------===//
//
// vpdpbusd multiplies four u8 bytes by four s8 bytes and adds the four
// products to a 32-bit lane, exactly. With four input channels interleaved
// into each word of the padded copy and the packed weights' word of the
// same four channels broadcast, one instruction advances 16 output columns
// by four channels. The im2col path this replaces copied the input to s8,
// the weights to s8 on every run, wrote nine copies of the input for a
// 3 x 3 kernel and ran oneDNN's s8 x s8 GEMM, which compensates for s8
// data itself.
//
// The input's zero point is taken out as zx * (sum of the row's weights),
// the accumulators' starting value; padding holds zx, so padding taps
// contribute (zx - zx) w = 0 as ONNX defines. Sums wrap in i32 like the
// reference loops'.
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerDirectConv.h"
#include "cpu/DirectConvPlan.h"
#include "cpu/IntegerPackedGemm.h"
#include "cpu/PackedGemm.h"

#include <algorithm>
#include <new>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_VNNI_KERNEL 1
#define DS_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#endif

namespace dsrt::cpu {

bool packInt8ConvWeights(const int8_t *w, int64_t M, int64_t Cg, int64_t taps,
                         PackedInt8Conv &out) {
  constexpr int64_t R = PackedInt8Conv::kRows;
  out.M = M, out.Cg = Cg, out.taps = taps;
  const int64_t steps = out.steps(), words = out.panels() * steps * R;
  out.words.reset(new (std::nothrow) int32_t[(size_t)std::max<int64_t>(1, words)]());
  out.rowSums.reset(new (std::nothrow) int32_t[(size_t)std::max<int64_t>(1, M)]());
  if (!out.words || !out.rowSums)
    return false;
  auto *bytes = reinterpret_cast<uint8_t *>(out.words.get());
  for (int64_t m = 0; m < M; ++m) {
    uint32_t sum = 0; // wraps like the i32 sums it corrects
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t tap = 0; tap < taps; ++tap) {
        const int8_t v = w[(m * Cg + c) * taps + tap];
        const int64_t step = c / 4 * taps + tap;
        // Byte c % 4 of the word: the lane order vpdpbusd pairs them in.
        bytes[((m / R * steps + step) * R + m % R) * 4 + c % 4] = (uint8_t)v;
        sum += (uint32_t)(int32_t)v;
      }
    out.rowSums[m] = (int32_t)sum;
  }
  return true;
}

#if DS_VNNI_KERNEL
namespace {

constexpr int64_t kRows = PackedInt8Conv::kRows;
constexpr int64_t kTile = 64; ///< columns per micro-kernel call: four vectors of 16 words

/// Plane t (= c4 * phases + phase) of the padded copy: the bytes of
/// channels 4 c4 .. 4 c4 + 3 to a word, as u8 (s8 data flipped by 0x80);
/// padding and channels past Cg hold the zero point.
DS_VNNI_TARGET void fillPlane(const DirectConvPlan &p, const uint8_t *x, int64_t Cg, uint8_t flip,
                              uint8_t pad, int64_t t, uint32_t *plane) {
  const uint32_t padWord = pad * 0x01010101u;
  int64_t top, left, rlo, rhi, lo, hi;
  p.planeExtent(t, top, left, rlo, rhi, lo, hi);
  const int64_t c0 = t / p.phases() * 4;
  std::fill(plane, plane + rlo * p.Wq, padWord);
  for (int64_t i = rlo; i < rhi; ++i) {
    uint32_t *dst = plane + i * p.Wq;
    std::fill(dst, dst + lo, padWord);
    std::fill(dst + hi, dst + p.Wq, padWord);
    const uint8_t *src[4];
    bool whole = true;
    for (int64_t b = 0; b < 4; ++b) {
      src[b] = c0 + b < Cg ? x + ((c0 + b) * p.H + i * p.SH + top) * p.W + left : nullptr;
      whole &= src[b] != nullptr;
    }
    if (whole && p.SW == 1) {
      const uint8_t *s0 = src[0], *s1 = src[1], *s2 = src[2], *s3 = src[3];
      for (int64_t j = lo; j < hi; ++j)
        dst[j] = (uint32_t)(uint8_t)(s0[j] ^ flip) | (uint32_t)(uint8_t)(s1[j] ^ flip) << 8 |
                 (uint32_t)(uint8_t)(s2[j] ^ flip) << 16 | (uint32_t)(uint8_t)(s3[j] ^ flip) << 24;
      continue;
    }
    for (int64_t j = lo; j < hi; ++j) {
      uint32_t word = 0;
      for (int64_t b = 0; b < 4; ++b)
        word |= (uint32_t)(src[b] ? (uint8_t)(src[b][j * p.SW] ^ flip) : pad) << (8 * b);
      dst[j] = word;
    }
  }
  std::fill(plane + rhi * p.Wq, plane + p.plane, padWord);
}

/// C[r][n0 + j] = init[r] + sum_k <B[offsets[k] + n0 + j], panel[k][r]>
/// for r < rows, j < cols (<= 16 V): 6 x V accumulators, one vpdpbusd per
/// row and vector per step. Narrower tiles take the last columns, so that
/// a 14 x 14 output map (210 columns with its row padding) computes 224
/// columns, not 256.
template <int V>
DS_VNNI_TARGET void tile(const int32_t *panel, const uint32_t *B, const int64_t *offsets,
                         int64_t steps, int64_t n0, int64_t cols, int64_t rows,
                         const int32_t *init, int32_t *C, int64_t ldc) {
  __m512i acc[kRows][V];
  for (int64_t r = 0; r < kRows; ++r)
    for (int v = 0; v < V; ++v)
      acc[r][v] = _mm512_set1_epi32(init[r]);
  for (int64_t k = 0; k < steps; ++k) {
    const uint32_t *b = B + offsets[k] + n0;
    __m512i bv[V];
    for (int v = 0; v < V; ++v)
      bv[v] = _mm512_loadu_si512(b + 16 * v);
    const int32_t *wk = panel + k * kRows;
    for (int64_t r = 0; r < kRows; ++r) {
      const __m512i wr = _mm512_set1_epi32(wk[r]);
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], bv[v], wr);
    }
  }
  __mmask16 masks[V];
  for (int v = 0; v < V; ++v) {
    const int64_t n = std::clamp<int64_t>(cols - 16 * v, 0, 16);
    masks[v] = (__mmask16)((1u << n) - 1);
  }
  for (int64_t r = 0; r < kRows; ++r) {
    if (r >= rows)
      break;
    for (int v = 0; v < V; ++v)
      _mm512_mask_storeu_epi32(C + r * ldc + n0 + 16 * v, masks[v], acc[r][v]);
  }
}

using TileFn = void (*)(const int32_t *, const uint32_t *, const int64_t *, int64_t, int64_t,
                        int64_t, int64_t, const int32_t *, int32_t *, int64_t);
/// The tile for `cols` columns: as many vectors as they need, up to four.
TileFn tileFor(int64_t cols) {
  static constexpr TileFn tiles[4] = {tile<1>, tile<2>, tile<3>, tile<4>};
  return tiles[std::clamp<int64_t>((cols + 15) / 16, 1, 4) - 1];
}

/// C = init + A B over N columns of the padded copy, in tasks of row
/// panels x column tiles (about four per thread; one for small products).
void integerGemmIndirect(KernelContext &ctx, const PackedInt8Conv &A, const uint32_t *B,
                         const int64_t *offsets, int64_t N, const int32_t *init, int32_t *C,
                         int64_t ldc) {
  const int64_t panels = A.panels(), tiles = (N + kTile - 1) / kTile, steps = A.steps();
  const int64_t wanted =
      panels * tiles * steps < 256 ? 1 : 4 * (int64_t)std::max(1, ctx.numThreads);
  const int64_t rowTasks = std::min(panels, wanted);
  const int64_t colTasks = std::max<int64_t>(1, std::min(tiles, (wanted + rowTasks - 1) / rowTasks));
  const int64_t panelsPerTask = (panels + rowTasks - 1) / rowTasks,
                tilesPerTask = (tiles + colTasks - 1) / colTasks;
  parallel(ctx, rowTasks * colTasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t p0 = task / colTasks * panelsPerTask, p1 = std::min(panels, p0 + panelsPerTask);
      const int64_t t0 = task % colTasks * tilesPerTask, t1 = std::min(tiles, t0 + tilesPerTask);
      // Tiles outer: a tile's columns of B (steps x 256 bytes) stay in
      // cache while every panel of the task passes over them.
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t cols = std::min(kTile, N - t * kTile);
        const TileFn fn = tileFor(cols);
        for (int64_t p = p0; p < p1; ++p)
          fn(A.panel(p), B, offsets, steps, t * kTile, cols, std::min(kRows, A.M - p * kRows),
             init + p * kRows, C + p * kRows * ldc, ldc);
      }
    }
  });
}

} // namespace
#endif // DS_VNNI_KERNEL

bool runIntegerDirectConv2D(KernelContext &ctx, const void *x, bool xSigned, int zx,
                            const int8_t *wt, int32_t *y, int64_t N, int64_t C, int64_t M,
                            int64_t group, const Window &w) {
#if DS_VNNI_KERNEL
  if (!integerVnniKernelsAvailable() || !ctx.packed || group <= 0)
    return false;
  const int64_t Cg = C / group, Mg = M / group, channelWords = (Cg + 3) / 4;
  DirectConvPlan p;
  if (!makeDirectConvPlan(w, channelWords, kTile, p))
    return false;
  const int64_t taps = p.KH * p.KW, rowBytes = Cg * taps;
  std::vector<const PackedInt8Conv *> packed((size_t)group);
  for (int64_t g = 0; g < group; ++g)
    if (!(packed[(size_t)g] = ctx.packed->findInt8Conv(wt + g * Mg * rowBytes, Mg, Cg, taps)))
      return false;
  const std::vector<int64_t> offsets = directConvOffsets(p, channelWords);

  const uint8_t flip = xSigned ? 0x80 : 0, pad = (uint8_t)((uint8_t)zx ^ flip);
  // Each row's accumulators start at -zx * (its weights' sum), in u8 terms.
  std::vector<std::vector<int32_t>> init((size_t)group);
  for (int64_t g = 0; g < group; ++g) {
    const PackedInt8Conv &A = *packed[(size_t)g];
    init[(size_t)g].assign((size_t)(A.panels() * kRows), 0);
    for (int64_t m = 0; m < Mg; ++m)
      init[(size_t)g][(size_t)m] = (int32_t)(0u - (uint32_t)pad * (uint32_t)A.rowSums[m]);
  }

  // Kept by the calling thread (tasks see them through these pointers).
  thread_local std::vector<uint32_t> scratchBuffer;
  thread_local std::vector<int32_t> wideBuffer;
  const int64_t columns = p.OH * p.Wq, OO = p.OH * p.OW;
  const bool dropsColumns = p.Wq != p.OW;
  if (scratchBuffer.size() < (size_t)p.scratch)
    scratchBuffer.resize((size_t)p.scratch);
  if (dropsColumns && wideBuffer.size() < (size_t)(Mg * columns))
    wideBuffer.resize((size_t)(Mg * columns));
  uint32_t *scratch = scratchBuffer.data();
  int32_t *wide = wideBuffer.data();
  // Read by the last tiles' dropped columns only.
  std::fill(scratch + p.body, scratch + p.scratch, pad * 0x01010101u);

  const auto *bytes = static_cast<const uint8_t *>(x);
  const int64_t planes = channelWords * p.phases();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < group; ++g) {
      const uint8_t *xg = bytes + (n * C + g * Cg) * p.H * p.W;
      int32_t *yg = y + (n * M + g * Mg) * OO;
      parallel(ctx, planes, std::max<int64_t>(1, 8192 / p.plane), [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t)
          fillPlane(p, xg, Cg, flip, pad, t, scratch + t * p.plane);
      });
      integerGemmIndirect(ctx, *packed[(size_t)g], scratch, offsets.data(), columns,
                          init[(size_t)g].data(), dropsColumns ? wide : yg,
                          dropsColumns ? columns : OO);
      if (!dropsColumns)
        continue;
      parallel(ctx, Mg * p.OH, std::max<int64_t>(1, 16384 / p.OW), [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t)
          std::copy_n(wide + (t / p.OH) * columns + (t % p.OH) * p.Wq, p.OW, yg + t * p.OW);
      });
    }
  return true;
#else
  (void)ctx, (void)x, (void)xSigned, (void)zx, (void)wt, (void)y, (void)N, (void)C, (void)M,
      (void)group, (void)w;
  return false;
#endif
}

} // namespace dsrt::cpu
