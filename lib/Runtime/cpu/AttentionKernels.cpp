//===- AttentionKernels.cpp - attention and rotary embedding --------------===//
//
// ds.attention (scaled dot-product attention with grouped KV heads, masks,
// causal offset and softcap) and ds.rotary_embedding. Both run in float
// (f32, f16, bf16) or double (f64) through the views of cpu/Gemm.h; float
// attention is tiled (cpu/FlashAttention.cpp), the row-at-a-time loop here
// is the f64 path and the fallback without OpenBLAS.
//
//===----------------------------------------------------------------------===//
#include "cpu/AttentionOperands.h"
#include "cpu/ContractionShapes.h"
#include "cpu/FlashAttention.h"
#include "cpu/Gemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace dsrt::cpu {
namespace {

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

template <typename T> T dot(const T *a, const T *b, int64_t n) {
  T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i)
    s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

/// A block layout for the reference loop: query i of head h sees key j only
/// where kept[(h or 0, i / block, j / block)].
struct LayoutView {
  const uint8_t *kept = nullptr;
  int64_t heads = 1, block = 1, queryBlocks = 0, keyBlocks = 0;
  bool hides(int64_t h, int64_t i, int64_t j) const {
    return kept && !kept[((heads == 1 ? 0 : h) * queryBlocks + i / block) * keyBlocks + j / block];
  }
};

template <typename T>
void runAttention(KernelContext &ctx, const AttentionShape &sh, const T *q, const T *k,
                  const T *v, const T *maskF, const uint8_t *maskB,
                  const std::vector<int64_t> &maskStrides, T *y, double scale, bool causal,
                  int64_t causalOffset, int64_t window, int64_t sinks, double softcap,
                  const LayoutView &layout = {}) {
  const int64_t rows = sh.B * sh.Hq * sh.S, group = sh.Hq / sh.Hkv;
  const T negInf = -std::numeric_limits<T>::infinity();
  parallel(ctx, rows, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, sh.L * (sh.D + sh.Dv))),
           [&](int64_t rb, int64_t re) {
             std::vector<T> score((size_t)sh.L);
             std::vector<T> acc((size_t)sh.Dv);
             for (int64_t r = rb; r < re; ++r) {
               int64_t i = r % sh.S, bh = r / sh.S, h = bh % sh.Hq, b = bh / sh.Hq;
               int64_t hk = h / group;
               const T *qi = q + r * sh.D;
               const T *kb = k + (b * sh.Hkv + hk) * sh.L * sh.D;
               const T *vb = v + (b * sh.Hkv + hk) * sh.L * sh.Dv;
               int64_t maskBase = b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2];
               T best = negInf;
               bool sawNaN = false;
               for (int64_t j = 0; j < sh.L; ++j) {
                 T s = dot(qi, kb + j * sh.D, sh.D) * (T)scale;
                 if (softcap > 0)
                   s = (T)(softcap * std::tanh((double)s / softcap));
                 if (causal && j > i + causalOffset)
                   s = negInf;
                 if (causal && window > 0 && j <= i + causalOffset - window && j >= sinks)
                   s = negInf;
                 if (layout.hides(h, i, j))
                   s = negInf;
                 int64_t mo = maskBase + j * maskStrides[3];
                 if (maskB && !maskB[mo])
                   s = negInf;
                 else if (maskF)
                   s += maskF[mo];
                 score[(size_t)j] = s;
                 sawNaN |= std::isnan(s);
                 if (s > best)
                   best = s;
               }
               T *yi = y + r * sh.Dv;
               if (best == negInf || sawNaN) {
                 // Fully masked row: zeros; a NaN score: the row is NaN.
                 T fillv = sawNaN ? std::numeric_limits<T>::quiet_NaN() : T(0);
                 std::fill(yi, yi + sh.Dv, fillv);
                 continue;
               }
               T sum = 0;
               for (int64_t j = 0; j < sh.L; ++j) {
                 T s = score[(size_t)j];
                 T e = s == negInf ? T(0) : std::exp(s - best);
                 score[(size_t)j] = e;
                 sum += e;
               }
               std::fill(acc.begin(), acc.end(), T(0));
               for (int64_t j = 0; j < sh.L; ++j) {
                 T pj = score[(size_t)j];
                 if (pj == 0)
                   continue;
                 const T *vj = vb + j * sh.Dv;
                 for (int64_t d = 0; d < sh.Dv; ++d)
                   acc[(size_t)d] += pj * vj[d];
               }
               T inv = T(1) / sum;
               for (int64_t d = 0; d < sh.Dv; ++d)
                 yi[d] = acc[(size_t)d] * inv;
             }
           });
}

} // namespace

Status checkAttentionOperands(const char *op, const Tensor &q, const Tensor &k, const Tensor &v,
                              const Tensor *mask, const Tensor &y, AttentionShape &sh,
                              std::vector<int64_t> &maskStrides, Compute &kind) {
  if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4)
    return fail(op, "needs 4-D query, key and value [B, H, S, D]");
  sh = AttentionShape{q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3],
                      v.shape[3]};
  if (k.shape[0] != sh.B || v.shape[0] != sh.B || k.shape[3] != sh.D || v.shape[1] != sh.Hkv ||
      v.shape[2] != sh.L || sh.Hkv <= 0 || sh.Hq % sh.Hkv)
    return fail(op, "query " + shapeText(q.shape) + ", key " + shapeText(k.shape) +
                        " and value " + shapeText(v.shape) + " do not fit together");
  std::vector<int64_t> full{sh.B, sh.Hq, sh.S, sh.Dv};
  if (y.shape != full)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(full));
  if (k.dtype != q.dtype || v.dtype != q.dtype || y.dtype != q.dtype)
    return fail(op, "query, key, value and result differ in element type");
  kind = computeOf(q.dtype);
  if (kind != Compute::F32 && kind != Compute::F64)
    return fail(op, std::string("unsupported element type ") + dtypeName(q.dtype));
  maskStrides.assign(4, 0);
  if (mask) {
    std::vector<int64_t> scoreShape{sh.B, sh.Hq, sh.S, sh.L};
    if (mask->rank() > 4)
      return fail(op, "mask has rank > 4");
    size_t off = 4 - mask->shape.size();
    for (size_t d = 0; d < mask->shape.size(); ++d)
      if (mask->shape[d] != 1 && mask->shape[d] != scoreShape[d + off])
        return fail(op, "mask " + shapeText(mask->shape) + " does not broadcast to " +
                            shapeText(scoreShape));
    maskStrides = broadcastStrides(mask->shape, scoreShape);
    if (mask->dtype != DS_BOOL && computeOf(mask->dtype) != Compute::F32 &&
        computeOf(mask->dtype) != Compute::F64)
      return fail(op, std::string("mask must be i1 or floating-point, got ") +
                          dtypeName(mask->dtype));
  }
  return Status();
}

AttentionProblem flashProblem(const AttentionShape &sh, const float *q, const float *k,
                              const float *v, const float *maskF, const uint8_t *maskB,
                              const std::vector<int64_t> &maskStrides, double scale, bool causal,
                              int64_t causalOffset, float *y) {
  AttentionProblem p{sh.B, sh.Hq, sh.Hkv, sh.S, sh.L, sh.D, sh.Dv, q, k, v};
  p.maskF = maskF;
  p.maskB = maskB;
  std::copy(maskStrides.begin(), maskStrides.end(), p.maskStrides);
  p.scale = (float)scale;
  p.causal = causal;
  p.causalOffset = causalOffset;
  p.y = y;
  return p;
}

double attentionScale(const Attributes &attrs, const AttentionShape &sh) {
  return attrs.has("scale") ? attrs.getFloat("scale", 0.0)
                            : 1.0 / std::sqrt((double)std::max<int64_t>(sh.D, 1));
}

CausalWindow causalWindow(int64_t offset, bool fromEnd, int64_t S, int64_t L, int64_t window) {
  // Row i sees keys max(0, d + i - W + 1) <= j <= min(L - 1, d + i). The
  // attributes may be any int64: computed wide, then brought into a range
  // where no sum the kernels form can overflow, keeping every row's keys.
  __int128 d = offset, w = window;
  if (fromEnd)
    d += (__int128)L - S; // the diagonal counted from the last key
  if (d < -(__int128)(S + 1))
    d = -(S + 1); // no row sees a key, window or not
  if (d > (__int128)L + 1) {
    // Every diagonal is past the last key: only where the window starts
    // matters, d - W, kept as the diagonal moves back to L + 1.
    if (w > 0)
      w = std::max<__int128>(1, w - (d - (L + 1))); // 1: past L + 1, nothing
    d = L + 1;
  }
  // With d <= L + 1, a window of S + L + 2 already starts before key 0 on
  // every row: wider hides nothing (negative widths stay, for the checks).
  w = std::min<__int128>(w, (__int128)S + L + 2);
  return {(int64_t)d, (int64_t)w};
}

int64_t clampedCausalOffset(int64_t offset, bool fromEnd, int64_t S, int64_t L) {
  return causalWindow(offset, fromEnd, S, L, 0).offset;
}

namespace {
CausalWindow causalWindowOf(const Attributes &attrs, const AttentionShape &sh) {
  return causalWindow(attrs.getInt("causal_offset", 0), // a KV cache in front
                      attrs.has("causal_from_end") && attrs.getInt("causal_from_end", 1) != 0,
                      sh.S, sh.L, attrs.getInt("window", 0));
}
} // namespace

int64_t windowOf(const Attributes &attrs, const AttentionShape &sh) {
  return causalWindowOf(attrs, sh).window;
}

int64_t causalOffsetOf(const Attributes &attrs, const AttentionShape &sh) {
  return causalWindowOf(attrs, sh).offset;
}

namespace {
/// The diagonal for block selection: which blocks are local depends on it
/// past the last key too (at L + 1 the last block would be local, further
/// right every block is a candidate), so it is clamped only where every key
/// block is an earlier block of every row.
int64_t selectionCausalOffset(const Attributes &attrs, const AttentionShape &sh,
                              int64_t blockSize) {
  __int128 d = attrs.getInt("causal_offset", 0);
  if (attrs.has("causal_from_end") && attrs.getInt("causal_from_end", 1) != 0)
    d += (__int128)sh.L - sh.S;
  const __int128 allEarlier = ((__int128)sh.L + blockSize - 1) / blockSize * blockSize + blockSize;
  return (int64_t)std::clamp<__int128>(d, -(__int128)(sh.S + 1), allEarlier);
}
} // namespace

namespace {

Status attentionKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                       const Outputs &out) {
  const char *op = "ds.attention";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  const Tensor &q = *in[0], &k = *in[1], &v = *in[2];
  const Tensor *mask = in.size() > 3 ? in[3] : nullptr;
  Tensor &y = *out[0];
  AttentionShape sh;
  std::vector<int64_t> maskStrides;
  Compute kind;
  if (Status s = checkAttentionOperands(op, q, k, v, mask, y, sh, maskStrides, kind); !s)
    return s;
  double scale = attentionScale(attrs, sh);
  bool causal = attrs.has("is_causal") && attrs.getInt("is_causal", 1) != 0;
  int64_t causalOffset = causalOffsetOf(attrs, sh);
  double softcap = attrs.getFloat("softcap", 0.0);
  const int64_t window = windowOf(attrs, sh), sinks = attrs.getInt("sink_tokens", 0);
  if (window < 0 || sinks < 0 || ((window || sinks) && !causal))
    return fail(op, "window and sink_tokens must be non-negative and need is_causal");
  const int64_t selectBlocks = attrs.getInt("select_blocks", 0),
                blockSize = attrs.getInt("block_size", 0);
  if ((selectBlocks || blockSize) &&
      (!causal || window || sinks || selectBlocks < 1 || blockSize < 1 || blockSize > 128))
    return fail(op, "select_blocks needs is_causal, no window, and block_size in [1, 128]");
  if (selectBlocks && (kind != Compute::F32 || !flashAttentionAvailable() || sh.D == 0 ||
                       sh.Dv == 0))
    return fail(op, "block selection runs in f32 / f16 / bf16 with OpenBLAS only, on head dims "
                    "above 0");
  if (selectBlocks)
    causalOffset = selectionCausalOffset(attrs, sh, blockSize);
  if (y.numel() == 0)
    return Status();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    ThreadStorage<T, 5> s; // widened q, k, v, mask, y
    std::vector<T> &sq = s[0], &sk = s[1], &sv = s[2], &sm = s[3], &sy = s[4];
    const T *Q = viewAs<T>(q, sq), *K = viewAs<T>(k, sk), *V = viewAs<T>(v, sv);
    const T *MF = nullptr;
    const uint8_t *MB = nullptr;
    if (mask && mask->dtype == DS_BOOL)
      MB = mask->as<uint8_t>();
    else if (mask)
      MF = viewAs<T>(*mask, sm);
    T *Y = outputAs<T>(y, sy);
    if constexpr (std::is_same_v<T, float>) {
      if (flashAttentionAvailable() && sh.D > 0 && sh.Dv > 0) { // BLAS wants leading dims > 0
        AttentionProblem p =
            flashProblem(sh, Q, K, V, MF, MB, maskStrides, scale, causal, causalOffset, Y);
        p.window = window;
        p.sinks = sinks;
        p.selectBlocks = selectBlocks;
        p.blockSize = blockSize;
        p.softcap = (float)softcap;
        flashAttention(ctx, p);
        finishOutput<T>(y, Y);
        return;
      }
    }
    runAttention<T>(ctx, sh, Q, K, V, MF, MB, maskStrides, Y, scale, causal, causalOffset,
                    window, sinks, softcap);
    finishOutput<T>(y, Y);
  };
  if (kind == Compute::F32)
    run(float());
  else
    run(double());
  return Status();
}

//===----------------------------------------------------------------------===//
// block_sparse_attention
//===----------------------------------------------------------------------===//

Status blockSparseAttentionKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                                  const Outputs &out) {
  const char *op = "ds.block_sparse_attention";
  if (Status s = need(op, in, out, 4, 1); !s)
    return s;
  const Tensor &q = *in[0], &k = *in[1], &v = *in[2], &layout = *in[3];
  const Tensor *mask = in.size() > 4 ? in[4] : nullptr;
  Tensor &y = *out[0];
  AttentionShape sh;
  std::vector<int64_t> maskStrides;
  Compute kind;
  if (Status s = checkAttentionOperands(op, q, k, v, mask, y, sh, maskStrides, kind); !s)
    return s;
  if (Status s = checkResultShape(op, blockSparseAttentionShape, attrs, in, y); !s)
    return s;
  if (layout.dtype != DS_BOOL)
    return fail(op, std::string("layout must be i1, got ") + dtypeName(layout.dtype));
  const int64_t bs = attrs.getInt("block_size", 0);
  const int64_t qBlocks = (sh.S + bs - 1) / bs, kBlocks = (sh.L + bs - 1) / bs;
  const double scale = attentionScale(attrs, sh);
  const bool causal = attrs.has("is_causal") && attrs.getInt("is_causal", 1) != 0;
  const int64_t causalOffset = causalOffsetOf(attrs, sh);
  if (y.numel() == 0)
    return Status();
  const uint8_t *kept = layout.as<uint8_t>();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    ThreadStorage<T, 5> s; // widened q, k, v, mask, y
    std::vector<T> &sq = s[0], &sk = s[1], &sv = s[2], &sm = s[3], &sy = s[4];
    const T *Q = viewAs<T>(q, sq), *K = viewAs<T>(k, sk), *V = viewAs<T>(v, sv);
    const T *MF = mask && mask->dtype != DS_BOOL ? viewAs<T>(*mask, sm) : nullptr;
    const uint8_t *MB = mask && mask->dtype == DS_BOOL ? mask->as<uint8_t>() : nullptr;
    T *Y = outputAs<T>(y, sy);
    if constexpr (std::is_same_v<T, float>) {
      if (flashAttentionAvailable() && sh.D > 0 && sh.Dv > 0) { // BLAS wants leading dims > 0
        AttentionProblem p =
            flashProblem(sh, Q, K, V, MF, MB, maskStrides, scale, causal, causalOffset, Y);
        p.layout = kept;
        p.layoutHeads = layout.shape[0];
        p.layoutBlock = bs;
        flashAttention(ctx, p);
        finishOutput<T>(y, Y);
        return;
      }
    }
    // f64 or no OpenBLAS: the reference loop, hiding what the layout hides.
    runAttention<T>(ctx, sh, Q, K, V, MF, MB, maskStrides, Y, scale, causal, causalOffset, 0, 0,
                    0.0, LayoutView{kept, layout.shape[0], bs, qBlocks, kBlocks});
    finishOutput<T>(y, Y);
  };
  if (kind == Compute::F32)
    run(float());
  else
    run(double());
  return Status();
}

//===----------------------------------------------------------------------===//
// rotary_embedding
//===----------------------------------------------------------------------===//

Status rotaryKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.rotary_embedding";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  const Tensor &x = *in[0], &cosT = *in[1], &sinT = *in[2];
  const Tensor *pos = in.size() > 3 ? in[3] : nullptr;
  Tensor &y = *out[0];
  // The shape function checks the layout, the rotary dim and the cos/sin and
  // position_ids shapes; only the ids' values are left to check here.
  if (Status s = checkResultShape(op, rotaryShape, attrs, in, y); !s)
    return s;
  if (y.dtype != x.dtype)
    return fail(op, "result must have the input's type");
  const bool fourD = x.rank() == 4;
  const int64_t H = fourD ? x.shape[1] : attrs.getInt("num_heads", 0);
  const int64_t B = x.shape[0], S = fourD ? x.shape[2] : x.shape[1];
  const int64_t D = fourD ? x.shape[3] : x.shape[2] / H;
  int64_t R = attrs.getInt("rotary_embedding_dim", 0);
  if (R == 0)
    R = D;
  const int64_t half = R / 2;
  std::vector<int64_t> positions;
  if (pos) {
    const int64_t maxPos = cosT.shape[0];
    positions.resize((size_t)(B * S));
    for (int64_t i = 0; i < B * S; ++i) {
      positions[(size_t)i] = loadAsInt(*pos, i);
      if (positions[(size_t)i] < 0 || positions[(size_t)i] >= maxPos)
        return fail(op, "position id " + std::to_string(positions[(size_t)i]) +
                            " is out of range for a cache of " + std::to_string(maxPos));
    }
  }
  Compute kind = computeOf(x.dtype);
  if ((kind != Compute::F32 && kind != Compute::F64) || computeOf(cosT.dtype) == Compute::None ||
      computeOf(cosT.dtype) == Compute::Int)
    return fail(op, std::string("unsupported element type ") + dtypeName(x.dtype));
  bool interleaved = attrs.has("interleaved") && attrs.getInt("interleaved", 1) != 0;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sx, sc, ss, sy;
    const T *X = viewAs<T>(x, sx), *Cs = viewAs<T>(cosT, sc), *Sn = viewAs<T>(sinT, ss);
    T *Y = outputAs<T>(y, sy);
    parallel(ctx, B * S * H, std::max<int64_t>(1, 4096 / std::max<int64_t>(D, 1)),
             [&](int64_t lo, int64_t hi) {
               for (int64_t t = lo; t < hi; ++t) {
                 int64_t h = t % H, bs = t / H, s = bs % S, b = bs / S;
                 int64_t off = fourD ? ((b * H + h) * S + s) * D : ((b * S + s) * H + h) * D;
                 int64_t row = pos ? positions[(size_t)(b * S + s)] : b * S + s;
                 const T *c = Cs + row * half, *sn = Sn + row * half;
                 const T *xi = X + off;
                 T *yi = Y + off;
                 for (int64_t i = 0; i < half; ++i) {
                   int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
                   T x1 = xi[i1], x2 = xi[i2];
                   yi[i1] = c[i] * x1 - sn[i] * x2;
                   yi[i2] = sn[i] * x1 + c[i] * x2;
                 }
                 for (int64_t i = R; i < D; ++i)
                   yi[i] = xi[i];
               }
             });
    finishOutput<T>(y, Y);
  };
  if (kind == Compute::F32)
    run(float());
  else
    run(double());
  return Status();
}

} // namespace

void registerAttentionKernels(KernelTable &table) {
  table["ds.attention"] = CpuOp(attentionKernel, attentionShape);
  table["ds.block_sparse_attention"] = CpuOp(blockSparseAttentionKernel, blockSparseAttentionShape);
  table["ds.rotary_embedding"] = CpuOp(rotaryKernel, rotaryShape);
}

} // namespace dsrt::cpu
