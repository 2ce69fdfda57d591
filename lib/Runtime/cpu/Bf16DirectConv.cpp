//===- Bf16DirectConv.cpp - bf16 convolution on AVX512-BF16, no im2col ----===//
//
// The 8-bit direct convolution's layout (cpu/IntegerDirectConv.cpp) with
// pairs of bf16 in place of quads of bytes: planes of the padded copy hold
// channels 2 c2 and 2 c2 + 1 of each element in one word, the packed
// weights' word of the same pair is broadcast, and 6 x 64 tiles of f32
// accumulate one vdpbf16ps per pair and tap. Padding and a missing last
// channel are 0 (+0 bf16), which adds nothing.
//
//===----------------------------------------------------------------------===//
#include "cpu/Bf16DirectConv.h"
#include "cpu/Bf16PackedGemm.h"
#include "cpu/DirectConvPasses.h"
#include "cpu/DirectConvPlan.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <algorithm>
#include <new>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_BF16_KERNEL 1
#define DS_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

namespace dsrt::cpu {

bool packBf16ConvWeights(const uint16_t *w, int64_t M, int64_t Cg, int64_t taps,
                         PackedBf16Conv &out) {
  constexpr int64_t R = PackedBf16Conv::kRows;
  out.M = M, out.Cg = Cg, out.taps = taps;
  const int64_t steps = out.steps(), words = out.panels() * steps * R;
  out.words.reset(new (std::nothrow) uint32_t[(size_t)std::max<int64_t>(1, words)]());
  if (!out.words)
    return false;
  auto *halves = reinterpret_cast<uint16_t *>(out.words.get());
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t tap = 0; tap < taps; ++tap)
        // Half c % 2 of the word: the order vdpbf16ps pairs them in.
        halves[((m / R * steps + c / 2 * taps + tap) * R + m % R) * 2 + c % 2] =
            w[(m * Cg + c) * taps + tap];
  return true;
}

#if DS_BF16_KERNEL
namespace {

constexpr int64_t kRows = PackedBf16Conv::kRows;
constexpr int64_t kTile = 64; ///< columns per micro-kernel call: four vectors of 16 words

/// dst[j] for j in [lo, hi): src[0][j * stride] in the low half and
/// src[1][j * stride] in the high half (stride 1 or 2; a null source: 0),
/// 16 words a step. Masked loads read only the elements used.
DS_BF16_TARGET void interleaveRow(const uint16_t *const src[2], int64_t stride, int64_t lo,
                                  int64_t hi, uint32_t *dst) {
  const __m512i low = _mm512_set1_epi32(0xFFFF);
  for (int64_t j = lo; j < hi; j += 16) {
    const int64_t n = std::min<int64_t>(16, hi - j);
    const __mmask16 words = (__mmask16)((1u << n) - 1);
    __m512i word = _mm512_setzero_si512();
    for (int b = 0; b < 2; ++b) {
      if (!src[b])
        continue;
      __m512i v;
      if (stride == 1) {
        v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(words, src[b] + j));
      } else {
        // Elements 2j, 2j + 2, ...: the low halves of 32-bit lanes (the last
        // lane's high half is not read).
        const __mmask32 pairs = (__mmask32)((uint64_t(1) << (2 * n - 1)) - 1);
        v = _mm512_and_si512(_mm512_maskz_loadu_epi16(pairs, src[b] + 2 * j), low);
      }
      word = _mm512_or_si512(word, b ? _mm512_slli_epi32(v, 16) : v);
    }
    _mm512_mask_storeu_epi32(dst + j, words, word);
  }
}

/// Plane t (= c2 * phases + phase) of the padded copy: channels 2 c2 and
/// 2 c2 + 1 to a word; padding and a channel past Cg are 0.
DS_BF16_TARGET void fillPlane(const DirectConvPlan &p, const uint16_t *x, int64_t Cg, int64_t t,
                              uint32_t *plane) {
  int64_t top, left, rlo, rhi, lo, hi;
  p.planeExtent(t, top, left, rlo, rhi, lo, hi);
  const int64_t c0 = t / p.phases() * 2;
  std::fill(plane, plane + rlo * p.Wq, 0u);
  for (int64_t i = rlo; i < rhi; ++i) {
    uint32_t *dst = plane + i * p.Wq;
    std::fill(dst, dst + lo, 0u);
    std::fill(dst + hi, dst + p.Wq, 0u);
    const uint16_t *src[2];
    for (int64_t b = 0; b < 2; ++b)
      src[b] = c0 + b < Cg ? x + ((c0 + b) * p.H + i * p.SH + top) * p.W + left : nullptr;
    if (p.SW <= 2) {
      interleaveRow(src, p.SW, lo, hi, dst);
      continue;
    }
    for (int64_t j = lo; j < hi; ++j)
      dst[j] = (src[0] ? src[0][j * p.SW] : 0u) | (src[1] ? (uint32_t)src[1][j * p.SW] << 16 : 0u);
  }
  std::fill(plane + rhi * p.Wq, plane + p.plane, 0u);
}

/// C[r][j] = sum_k <B[offsets[k] + n0 + j], panel[k][r]> (pairs) for
/// r < kRows, j < 16 V: 6 x V f32 accumulators, one vdpbf16ps per row and
/// vector per step.
template <int V>
DS_BF16_TARGET void tile(const uint32_t *panel, const uint32_t *B, const int64_t *offsets,
                         int64_t steps, int64_t n0, float *C) {
  __m512 acc[kRows][V];
  for (int64_t r = 0; r < kRows; ++r)
    for (int v = 0; v < V; ++v)
      acc[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < steps; ++k) {
    const uint32_t *b = B + offsets[k] + n0;
    __m512bh bv[V];
    for (int v = 0; v < V; ++v)
      bv[v] = (__m512bh)_mm512_loadu_si512(b + 16 * v);
    const uint32_t *wk = panel + k * kRows;
    for (int64_t r = 0; r < kRows; ++r) {
      const __m512bh wr = (__m512bh)_mm512_set1_epi32((int)wk[r]);
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_dpbf16_ps(acc[r][v], bv[v], wr);
    }
  }
  for (int64_t r = 0; r < kRows; ++r)
    for (int v = 0; v < V; ++v)
      _mm512_store_ps(C + r * kTile + 16 * v, acc[r][v]);
}

using TileFn = void (*)(const uint32_t *, const uint32_t *, const int64_t *, int64_t, int64_t,
                        float *);
/// The tile for `cols` columns: as many vectors as they need, up to four.
TileFn tileFor(int64_t cols) {
  static constexpr TileFn tiles[4] = {tile<1>, tile<2>, tile<3>, tile<4>};
  return tiles[std::clamp<int64_t>((cols + 15) / 16, 1, 4) - 1];
}

/// One (image, group) product: its packed weights, padded copy, bias and
/// output channels.
struct Product {
  const PackedBf16Conv *A;
  const uint32_t *B;
  const float *bias; ///< the group's first channel's, or null
  uint16_t *y;       ///< the image's group's first channel
};

/// Rows [0, rows) of `sums` (columns n0 .. n0 + cols of the padded map) plus
/// their channels' bias, rounded to bf16, into channels m0 .. of `out`,
/// without the columns that pad a row to Wq.
DS_BF16_TARGET void storeTile(const DirectConvPlan &p, const Product &out, const float *sums,
                              int64_t m0, int64_t rows, int64_t n0, int64_t cols) {
  alignas(64) float row[kTile];
  for (int64_t q = n0, end = n0 + cols; q < end;) {
    const int64_t oh = q / p.Wq, ow = q % p.Wq;
    const int64_t rowEnd = std::min(end, (oh + 1) * p.Wq);
    const int64_t valid = std::min(rowEnd, oh * p.Wq + p.OW) - q;
    if (valid > 0 && oh < p.OH)
      for (int64_t r = 0; r < rows; ++r) {
        const float *from = sums + r * kTile + (q - n0);
        const float b = out.bias ? out.bias[m0 + r] : 0.0f;
        for (int64_t j = 0; j < valid; ++j)
          row[j] = from[j] + b;
        floatToBf16N(row, out.y + (m0 + r) * p.OH * p.OW + oh * p.OW + ow, valid);
      }
    q = rowEnd;
  }
}

} // namespace
#endif // DS_BF16_KERNEL

bool runBf16DirectConv2D(KernelContext &ctx, const uint16_t *x, const uint16_t *wt,
                         const uint16_t *bias, uint16_t *y, int64_t N, int64_t C, int64_t M,
                         int64_t group, const Window &w, int64_t scratchWords) {
#if DS_BF16_KERNEL
  if (!bf16GemmAvailable() || !ctx.packed || group <= 0 || N <= 0 || C / group < 2)
    return false;
  const int64_t Cg = C / group, Mg = M / group, channelWords = (Cg + 1) / 2;
  DirectConvPlan p;
  if (!makeDirectConvPlan(w, channelWords, kTile, p))
    return false;
  const int64_t taps = p.KH * p.KW, rowElements = Cg * taps;
  std::vector<const PackedBf16Conv *> packed((size_t)group);
  for (int64_t g = 0; g < group; ++g)
    if (!(packed[(size_t)g] = ctx.packed->findBf16Conv(wt + g * Mg * rowElements, Mg, Cg, taps)))
      return false;
  const std::vector<int64_t> offsets = directConvOffsets(p, channelWords);
  std::vector<float> biasValues;
  if (bias) {
    biasValues.resize((size_t)M);
    bf16ToFloatN(bias, biasValues.data(), M);
  }

  const int64_t planes = channelWords * p.phases(), OO = p.OH * p.OW;
  const int64_t columns = p.OH * p.Wq, tiles = (columns + kTile - 1) / kTile;
  std::vector<Product> products;
  forEachDirectConvPass(
      ctx, p, N * group, planes, scratchWords, 0u,
      [&](int64_t item, int64_t plane, uint32_t *dst) {
        fillPlane(p, x + (item / group * C + item % group * Cg) * p.H * p.W, Cg, plane, dst);
      },
      [&](int64_t first, int64_t count, const uint32_t *copies) {
        products.clear();
        for (int64_t k = 0; k < count; ++k) {
          const int64_t n = (first + k) / group, g = (first + k) % group;
          products.push_back({packed[(size_t)g], copies + k * p.scratch,
                              bias ? biasValues.data() + g * Mg : nullptr,
                              y + (n * M + g * Mg) * OO});
        }
        const DirectConvTasks tasks(packed[0]->panels(), tiles, count, ctx.numThreads, false);
        runDirectConvTasks(ctx, tasks, count, [&](int64_t k, int64_t q, int64_t t) {
          alignas(64) float sums[kRows * kTile];
          const Product &product = products[(size_t)k];
          const int64_t n0 = t * kTile, cols = std::min(kTile, columns - n0);
          tileFor(cols)(product.A->panel(q), product.B, offsets.data(), product.A->steps(), n0,
                        sums);
          storeTile(p, product, sums, q * kRows, std::min(kRows, product.A->M - q * kRows), n0,
                    cols);
        });
      });
  return true;
#else
  (void)ctx, (void)x, (void)wt, (void)bias, (void)y, (void)N, (void)C, (void)M, (void)group,
      (void)w, (void)scratchWords;
  return false;
#endif
}

} // namespace dsrt::cpu
