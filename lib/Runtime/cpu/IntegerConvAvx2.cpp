//===- IntegerConvAvx2.cpp - 8-bit convolutions on AVX2 without VNNI ------===//
//
// Tasks take blocks of up to 384 output positions of one image and group
// (and a share of the output channels when there are few blocks and more
// than one thread): the block's input packed four k by eight positions
// into words (from the channels-last copy, or from im2col), then each six
// weight rows against every panel of the block. The input's
// zero point is taken out once per row: sum_k w (x - zx) = sum_k w x - zx
// sum_k w, padding reading as zx.
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerConvAvx2.h"
#include "cpu/IntegerPackedGemmAvx2.h"
#include "cpu/PackedConstants.h"

#include <algorithm>
#include <cstring>
#include <new>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_CONV_AVX2 1
#define DS_AVX2_TARGET __attribute__((target("avx2")))
#endif

namespace dsrt::cpu {

bool widenInt8Conv(const int8_t *w, int64_t M, int64_t Cg, int64_t taps, WidenedInt8Conv &out) {
  const int64_t K = Cg * taps;
  out.M = M, out.Cg = Cg, out.taps = taps, out.padded = (K + 3) / 4 * 4;
  out.tapsOuter = Cg % 4 == 0;
  try {
    out.rows.assign((size_t)(M * out.padded), 0);
    out.rowSums.assign((size_t)M, 0);
  } catch (const std::bad_alloc &) {
    return false;
  }
  for (int64_t m = 0; m < M; ++m) {
    uint32_t sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t c = k / taps, tap = k % taps; // the artifact's order
      out.rows[(size_t)(m * out.padded + (out.tapsOuter ? tap * Cg + c : k))] = w[m * K + k];
      sum += (uint32_t)(int32_t)w[m * K + k];
    }
    out.rowSums[(size_t)m] = (int32_t)sum;
  }
  return true;
}

#if DS_CONV_AVX2
namespace {

constexpr int64_t kPanel = PackedInt8Matrix::kAvx2Columns; ///< positions per panel
constexpr int64_t kTileRows = 6;
constexpr int64_t kBlock = 48 * kPanel; ///< positions per task

/// The columns col[k][0..width) (row stride width) as panels of eight
/// positions: words[p][s][j] holds col[4 s .. 4 s + 3][8 p + j] (zeros past
/// K and width).
DS_AVX2_TARGET void packColumns(const uint8_t *col, int64_t K, int64_t width, int64_t steps,
                                int32_t *words) {
  const int64_t panels = (width + kPanel - 1) / kPanel;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t q = p * kPanel, cols = std::min(kPanel, width - q);
    int32_t *dst = words + p * steps * kPanel;
    for (int64_t s = 0; s < steps; ++s, dst += kPanel) {
      const int64_t k = 4 * s;
      if (cols == kPanel && k + 4 <= K) {
        // Four rows of eight bytes, interleaved into eight words.
        const uint8_t *r = col + k * width + q;
        const __m128i r0 = _mm_loadl_epi64((const __m128i *)r),
                      r1 = _mm_loadl_epi64((const __m128i *)(r + width)),
                      r2 = _mm_loadl_epi64((const __m128i *)(r + 2 * width)),
                      r3 = _mm_loadl_epi64((const __m128i *)(r + 3 * width));
        const __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpacklo_epi8(r2, r3);
        _mm_storeu_si128((__m128i *)dst, _mm_unpacklo_epi16(a, b));
        _mm_storeu_si128((__m128i *)(dst + 4), _mm_unpackhi_epi16(a, b));
        continue;
      }
      auto *bytes = reinterpret_cast<uint8_t *>(dst);
      std::memset(bytes, 0, kPanel * 4);
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t i = 0; i < 4 && k + i < K; ++i)
          bytes[j * 4 + i] = col[(k + i) * width + q + j];
    }
  }
}

/// Eight rows of eight 32-bit words, transposed in place.
DS_AVX2_TARGET inline void transpose8x8(__m256i r[8]) {
  __m256i t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
  }
}

/// The panels of output positions [q0, q0 + cols) of one image from its
/// channels-last copy `pixels` (H * W pixels of Cg bytes; Cg a multiple
/// of four), k = tap * Cg + c: words[p][s][j] holds the four channels of
/// step s at position q0 + 8 p + j, `pad` (Cg bytes of the zero point)
/// where the tap falls outside the image or past the positions.
DS_AVX2_TARGET void packPixels(const uint8_t *pixels, const uint8_t *pad, int64_t Cg,
                               const Window &w, int64_t q0, int64_t cols, int32_t *words) {
  const int64_t H = w.in[0], W = w.in[1], OW = w.out[1], KW = w.kernel[1];
  const int64_t taps = w.kernel[0] * KW, stepsPerTap = Cg / 4, steps = taps * stepsPerTap;
  const int64_t panels = (cols + kPanel - 1) / kPanel;
  const uint8_t *src[kPanel];
  for (int64_t p = 0; p < panels; ++p) {
    int32_t *panel = words + p * steps * kPanel;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t kh = t / KW, kw = t % KW;
      for (int64_t j = 0; j < kPanel; ++j) {
        const int64_t q = q0 + p * kPanel + j, oh = q / OW, ow = q % OW;
        const int64_t ih = oh * w.strides[0] - w.padBegin[0] + kh * w.dilations[0];
        const int64_t iw = ow * w.strides[1] - w.padBegin[1] + kw * w.dilations[1];
        const bool inside = p * kPanel + j < cols && ih >= 0 && ih < H && iw >= 0 && iw < W;
        src[j] = inside ? pixels + (ih * W + iw) * Cg : pad;
      }
      int32_t *dst = panel + t * stepsPerTap * kPanel;
      int64_t c = 0;
      for (; c + 32 <= Cg; c += 32, dst += 8 * kPanel) {
        __m256i r[8];
        for (int j = 0; j < 8; ++j)
          r[j] = _mm256_loadu_si256((const __m256i *)(src[j] + c));
        transpose8x8(r);
        for (int s = 0; s < 8; ++s)
          _mm256_storeu_si256((__m256i *)(dst + s * kPanel), r[s]);
      }
      for (; c < Cg; c += 4, dst += kPanel)
        for (int j = 0; j < 8; ++j)
          std::memcpy(dst + j, src[j] + c, 4);
    }
  }
}

/// `Cg` channels of `pixels` bytes (one image's group) as pixels of Cg
/// bytes.
void channelsLast(const uint8_t *x, int64_t Cg, int64_t pixels, uint8_t *out) {
  constexpr int64_t kTile = 64; // a block of pixels: reads and writes stay in cache
  for (int64_t p0 = 0; p0 < pixels; p0 += kTile) {
    const int64_t p1 = std::min(pixels, p0 + kTile);
    for (int64_t c = 0; c < Cg; ++c) {
      const uint8_t *row = x + c * pixels;
      for (int64_t p = p0; p < p1; ++p)
        out[p * Cg + c] = row[p];
    }
  }
}

} // namespace
#endif // DS_CONV_AVX2

bool runIntegerConvAvx2(KernelContext &ctx, const void *x, bool xSigned, int zx, const int8_t *wt,
                        int32_t *y, int64_t N, int64_t C, int64_t M, int64_t group,
                        const Window &w) {
#if DS_CONV_AVX2
  if (!integerPackedGemmAvx2Runs() || !ctx.packed || group <= 0 || N <= 0 || C % group || M % group)
    return false;
  const int64_t Cg = C / group, Mg = M / group, taps = w.kernelSize, K = Cg * taps;
  const int64_t OO = w.outSize;
  std::vector<const WidenedInt8Conv *> weights((size_t)group);
  // Each row starts at -zx times its weights' sum (wrapping, as the sums).
  std::vector<int32_t> init((size_t)M);
  for (int64_t g = 0; g < group; ++g) {
    const WidenedInt8Conv *wg = ctx.packed->findInt8ConvAvx2(wt + g * Mg * K, Mg, Cg, taps);
    if (!wg)
      return false;
    weights[(size_t)g] = wg;
    for (int64_t m = 0; m < Mg; ++m)
      init[(size_t)(g * Mg + m)] = (int32_t)(0u - (uint32_t)zx * (uint32_t)wg->rowSums[(size_t)m]);
  }
  const bool tapsOuter = weights[0]->tapsOuter;
  if (tapsOuter && w.spatial != 2) // its k order is the 2-D packing's
    return false;
  if (OO <= 0 || Mg <= 0)
    return true;
  const int64_t steps = (K + 3) / 4, padded = steps * 4;
  const int64_t width = std::min(OO, kBlock), blocks = (OO + width - 1) / width;
  const int64_t tiles = (Mg + kTileRows - 1) / kTileRows, items = N * group * blocks;
  // Few position blocks (small images, one image): split the channels too.
  const int64_t wanted = 4 * (int64_t)std::max(1, ctx.numThreads);
  const int64_t parts =
      ctx.numThreads <= 1 ? 1 : std::clamp<int64_t>((wanted + items - 1) / items, 1, tiles);
  const auto *bytes = static_cast<const uint8_t *>(x);
  // Channels in fours: each image and group's input channels last, and a
  // pixel of zero points for the padding.
  std::vector<uint8_t> pixels, pad;
  if (tapsOuter) {
    pixels.resize((size_t)(N * C * w.inSize));
    pad.assign((size_t)Cg, (uint8_t)zx);
    parallel(ctx, N * group, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        channelsLast(bytes + i * Cg * w.inSize, Cg, w.inSize, pixels.data() + i * Cg * w.inSize);
    });
  }
  parallel(ctx, items * parts, 1, [&](int64_t t0, int64_t t1) {
    KernelContext serial; // im2col on this thread: this is a task already
    std::vector<uint8_t> col;
    std::vector<int32_t> words;
    alignas(32) int32_t tail[kTileRows * kPanel];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t part = t % parts, item = t / parts;
      const int64_t b = item % blocks, g = item / blocks % group, n = item / blocks / group;
      const int64_t q0 = b * width, cols = std::min(OO, q0 + width) - q0;
      const int64_t panels = (cols + kPanel - 1) / kPanel;
      words.resize((size_t)(panels * steps * kPanel));
      if (tapsOuter) {
        packPixels(pixels.data() + (n * group + g) * Cg * w.inSize, pad.data(), Cg, w, q0, cols,
                   words.data());
      } else {
        col.resize((size_t)(K * cols));
        im2col(serial, bytes + (n * C + g * Cg) * w.inSize, Cg, w, q0, q0 + cols, col.data(),
               (uint8_t)zx);
        packColumns(col.data(), K, cols, steps, words.data());
      }
      const WidenedInt8Conv &wg = *weights[(size_t)g];
      const int64_t m0 = part * tiles / parts * kTileRows;
      const int64_t m1 = std::min(Mg, (part + 1) * tiles / parts * kTileRows);
      for (int64_t m = m0; m < m1; m += kTileRows) {
        const int64_t rows = std::min(kTileRows, m1 - m);
        const int16_t *a = wg.rows.data() + m * padded;
        const int32_t *rowInit = init.data() + g * Mg + m;
        int32_t *out = y + (n * M + g * Mg + m) * OO + q0;
        for (int64_t p = 0; p < panels; ++p) {
          const int32_t *panel = words.data() + p * steps * kPanel;
          const int64_t pc = std::min(kPanel, cols - p * kPanel);
          if (pc == kPanel) {
            packedTileAvx2(panel, !xSigned, steps, a, padded, rows, rowInit, out + p * kPanel, OO);
            continue;
          }
          packedTileAvx2(panel, !xSigned, steps, a, padded, rows, rowInit, tail, kPanel);
          for (int64_t r = 0; r < rows; ++r)
            std::memcpy(out + r * OO + p * kPanel, tail + r * kPanel, (size_t)pc * sizeof(int32_t));
        }
      }
    }
  });
  return true;
#else
  (void)ctx, (void)x, (void)xSigned, (void)zx, (void)wt, (void)y, (void)N, (void)C, (void)M,
      (void)group, (void)w;
  return false;
#endif
}

} // namespace dsrt::cpu
