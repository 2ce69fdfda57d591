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
#include "cpu/DirectConvPasses.h"
#include "cpu/DirectConvPlan.h"
#include "cpu/IntegerPackedGemm.h"
#include "cpu/PackedConstants.h"
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

/// dst[j] for j in [lo, hi): byte b of the word is src[b][j * stride]
/// (stride 1 or 2) ^ flip, or `pad` where the channel is missing (null);
/// 16 words a step. Reads only the bytes it uses (masked loads: a row's
/// last element may end the tensor).
DS_VNNI_TARGET void interleaveRow(const uint8_t *const src[4], int64_t stride, uint8_t pad,
                                  uint8_t flip, int64_t lo, int64_t hi, uint32_t *dst) {
  const __m128i flips = _mm_set1_epi8((char)flip);
  for (int64_t j = lo; j < hi; j += 16) {
    const int64_t n = std::min<int64_t>(16, hi - j);
    const __mmask16 words = (__mmask16)((1u << n) - 1);
    __m512i word = _mm512_setzero_si512();
    for (int b = 0; b < 4; ++b) {
      __m128i bytes;
      if (!src[b]) {
        bytes = _mm_set1_epi8((char)pad);
      } else if (stride == 1) {
        bytes = _mm_xor_si128(_mm_maskz_loadu_epi8(words, src[b] + j), flips);
      } else {
        // Bytes 2j, 2j + 2, ...: the low bytes of 16-bit lanes (the last
        // lane's high byte is not read).
        const __mmask32 pairs = (__mmask32)((uint64_t(1) << (2 * n - 1)) - 1);
        bytes = _mm_xor_si128(
            _mm256_cvtepi16_epi8(_mm256_maskz_loadu_epi8(pairs, src[b] + 2 * j)), flips);
      }
      word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_cvtepu8_epi32(bytes), 8 * b));
    }
    _mm512_mask_storeu_epi32(dst + j, words, word);
  }
}

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
    for (int64_t b = 0; b < 4; ++b)
      src[b] = c0 + b < Cg ? x + ((c0 + b) * p.H + i * p.SH + top) * p.W + left : nullptr;
    if (p.SW <= 2) {
      interleaveRow(src, p.SW, pad, flip, lo, hi, dst);
      continue;
    }
    // Larger strides: byte lane by byte lane, each a loop without branches.
    auto *lanes = reinterpret_cast<uint8_t *>(dst);
    for (int64_t b = 0; b < 4; ++b) {
      if (!src[b]) {
        for (int64_t j = lo; j < hi; ++j)
          lanes[4 * j + b] = pad;
        continue;
      }
      const uint8_t *from = src[b];
      const int64_t stride = p.SW;
      for (int64_t j = lo; j < hi; ++j)
        lanes[4 * j + b] = (uint8_t)(from[j * stride] ^ flip);
    }
  }
  std::fill(plane + rhi * p.Wq, plane + p.plane, padWord);
}

/// C[r][j] = init[r] + sum_k <B[offsets[k] + n0 + j], panel[k][r]>
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
      _mm512_mask_storeu_epi32(C + r * ldc + 16 * v, masks[v], acc[r][v]);
  }
}

using TileFn = void (*)(const int32_t *, const uint32_t *, const int64_t *, int64_t, int64_t,
                        int64_t, int64_t, const int32_t *, int32_t *, int64_t);
/// The tile for `cols` columns: as many vectors as they need, up to four.
TileFn tileFor(int64_t cols) {
  static constexpr TileFn tiles[4] = {tile<1>, tile<2>, tile<3>, tile<4>};
  return tiles[std::clamp<int64_t>((cols + 15) / 16, 1, 4) - 1];
}

/// Where the sums of a tile go: the rows' output channels of one image,
/// without the columns that only pad a row of the map to Wq.
struct TileStore {
  const DirectConvPlan &p;
  int32_t *y;                      ///< the image's group's first channel
  int64_t image, firstChannel;     ///< for the epilogue
  const StoreEpilogue *epilogue;   ///< null: store the i32 sums

  /// Rows [0, rows) of `sums` (row stride kTile; columns n0 .. n0 + cols
  /// of the padded map) to channels m0 .. m0 + rows - 1 (counted in the
  /// group). The columns a tile keeps are consecutive pixels (the last of
  /// a map row is followed by the first of the next) and the same for every
  /// row, so once the padding columns are dropped they go to the epilogue
  /// in one call per tile.
  void rows(const int32_t *sums, int64_t m0, int64_t rows, int64_t n0, int64_t cols) const {
    // The kept runs: [start, start + length) of the tile's columns, each
    // beginning at pixel `pixel`.
    struct Run {
      int64_t start, length, pixel;
    };
    Run runs[kTile];
    int64_t numRuns = 0, count = 0;
    for (int64_t q = n0, end = n0 + cols; q < end;) {
      const int64_t oh = q / p.Wq, ow = q % p.Wq;
      const int64_t rowEnd = std::min(end, (oh + 1) * p.Wq);
      const int64_t valid = std::min(rowEnd, oh * p.Wq + p.OW) - q;
      if (valid > 0 && oh < p.OH) {
        runs[numRuns++] = {q - n0, valid, oh * p.OW + ow};
        count += valid;
      }
      q = rowEnd;
    }
    if (numRuns == 0)
      return;
    if (!epilogue) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < numRuns; ++k)
          std::copy_n(sums + r * kTile + runs[k].start, runs[k].length,
                      y + (m0 + r) * p.OH * p.OW + runs[k].pixel);
      return;
    }
    // One run from the tile's first column: the sums as they are.
    // Otherwise the kept columns side by side.
    int32_t kept[kRows * kTile];
    const int32_t *from = sums;
    if (numRuns > 1 || runs[0].start != 0) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0, at = 0; k < numRuns; at += runs[k].length, ++k)
          std::copy_n(sums + r * kTile + runs[k].start, runs[k].length, kept + r * kTile + at);
      from = kept;
    }
    storeChannelsWithEpilogue(*epilogue, from, kTile, image, firstChannel + m0, rows,
                              runs[0].pixel, count);
  }
};

/// One image's (or group's) product: the packed weights, its padded copy,
/// its accumulators' starting values and where its sums go.
struct IndirectProduct {
  const PackedInt8Conv *A;
  const uint32_t *B;
  const int32_t *init;
  TileStore out;
};

/// out = init + A B over N columns of each product's padded copy, by the
/// tasks of cpu/DirectConvPasses.h (one per product for small products).
void integerGemmIndirect(KernelContext &ctx, const std::vector<IndirectProduct> &products,
                         const int64_t *offsets, int64_t N) {
  const PackedInt8Conv &A0 = *products.front().A;
  const int64_t panels = A0.panels(), tiles = (N + kTile - 1) / kTile, steps = A0.steps();
  const int64_t count = (int64_t)products.size();
  const DirectConvTasks tasks(panels, tiles, count, ctx.numThreads,
                              panels * tiles * steps * count < 256);
  runDirectConvTasks(ctx, tasks, count, [&](int64_t k, int64_t q, int64_t t) {
    alignas(64) int32_t sums[kRows * kTile];
    const IndirectProduct &product = products[(size_t)k];
    const int64_t n0 = t * kTile, cols = std::min(kTile, N - n0);
    const int64_t rows = std::min(kRows, product.A->M - q * kRows);
    tileFor(cols)(product.A->panel(q), product.B, offsets, steps, n0, cols, rows,
                  product.init + q * kRows, sums, kTile);
    product.out.rows(sums, q * kRows, rows, n0, cols);
  });
}

} // namespace
#endif // DS_VNNI_KERNEL

bool runIntegerDirectConv2D(KernelContext &ctx, const void *x, bool xSigned, int zx,
                            const int8_t *wt, int32_t *y, int64_t N, int64_t C, int64_t M,
                            int64_t group, const Window &w, const StoreEpilogue *epilogue,
                            int64_t scratchWords) {
#if DS_VNNI_KERNEL
  if (!integerVnniKernelsAvailable() || !ctx.packed || group <= 0 || N <= 0)
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

  const auto *bytes = static_cast<const uint8_t *>(x);
  const int64_t planes = channelWords * p.phases(), OO = p.OH * p.OW;
  std::vector<IndirectProduct> products;
  forEachDirectConvPass(
      ctx, p, N * group, planes, scratchWords, pad * 0x01010101u,
      [&](int64_t item, int64_t plane, uint32_t *dst) {
        fillPlane(p, bytes + (item / group * C + item % group * Cg) * p.H * p.W, Cg, flip, pad,
                  plane, dst);
      },
      [&](int64_t first, int64_t count, const uint32_t *copies) {
        products.clear();
        for (int64_t k = 0; k < count; ++k) {
          const int64_t n = (first + k) / group, g = (first + k) % group;
          products.push_back({packed[(size_t)g], copies + k * p.scratch, init[(size_t)g].data(),
                              TileStore{p, y + (n * M + g * Mg) * OO, n, g * Mg, epilogue}});
        }
        integerGemmIndirect(ctx, products, offsets.data(), p.OH * p.Wq);
      });
  return true;
#else
  (void)ctx, (void)x, (void)xSigned, (void)zx, (void)wt, (void)y, (void)N, (void)C, (void)M,
      (void)group, (void)w, (void)epilogue, (void)scratchWords;
  return false;
#endif
}

} // namespace dsrt::cpu
