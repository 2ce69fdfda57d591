// SparseAttention.cuh - attention over the keys each query lists (ds.sparse_attention).
//
// out[b, h, i, :] = softmax over the listed keys j of (q[b,h,i,:] · k[b,h/G,j,:] * scale)
// · v[b,h/G,j,:], the list being idx[b, HI == 1 ? 0 : h, i, :] (DSA's top-k).
// Instantiated per group by EmitAttention.cpp with a Config struct:
//
//   struct Config {
//     static constexpr int HQ, HKV, HI, D, DV;  // heads (HI: lists, 1 or HQ), head dims
//     static constexpr int K, KPAD;             // list length, next power of two (>= 32)
//     static constexpr bool IDX_SPLAT;          // every index is idx[0] (a table of one)
//     static constexpr float SCALE;
//     static constexpr bool CAUSAL;
//     int S, L, CAUSAL_OFFSET;                  // queries, keys, diagonal offset
//   };
//
// One warp per query. The warp copies the list into shared memory (indices
// outside [0, L) become a sentinel: a kernel cannot fail the run, so such keys
// are hidden where the CPU backend reports an error) and sorts it with a
// bitonic network, so a key listed twice is seen once (it equals its left
// neighbour) and keys past a causal diagonal form a tail the loop stops at.
// Then tiles of 32 listed keys: the warp gathers their rows into shared
// memory (each row read whole by the warp: coalesced), lane j scores key j,
// the online softmax updates the running max and sum, and lane t accumulates
// output dims t, t + 32, ... reading each listed value row once, coalesced.
// Rows that see no key give 0, as the reference says. fp32 accumulation for
// every element type.
// Shared memory (dynamic) per warp: K rows [32][D + 1], the query [D], the
// sorted list [KPAD] (ints).

namespace ds_attention {

#define DS_SPARSE_WARPS 4 // queries per block

template <typename T, typename C>
__device__ void flash_attention_gather(const T *__restrict__ q, const T *__restrict__ k,
                                       const T *__restrict__ v,
                                       const long long *__restrict__ idx, T *__restrict__ out,
                                       const C cfg) {
  constexpr int WARP_FLOATS = 32 * (C::D + 1) + C::D + C::KPAD;
  constexpr int DV_PER_LANE = (C::DV + 31) / 32;
  constexpr int SENTINEL = 0x7fffffff;
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float *Ks = smem + warp * WARP_FLOATS; // [32][D + 1]
  float *Qs = Ks + 32 * (C::D + 1);      // [D]
  int *keys = (int *)(Qs + C::D);        // [KPAD]

  const int b = blockIdx.z, h = blockIdx.y, hk = h / (C::HQ / C::HKV);
  const int i = blockIdx.x * DS_SPARSE_WARPS + warp;
  if (i >= cfg.S) return; // uniform across the warp; no block-wide barrier below
  const long long row = ((long long)b * C::HQ + h) * cfg.S + i;
  const T *kh = k + ((long long)b * C::HKV + hk) * cfg.L * C::D;
  const T *vh = v + ((long long)b * C::HKV + hk) * cfg.L * C::DV;
  const long long *list =
      C::IDX_SPLAT ? idx : idx + (((long long)b * C::HI + (C::HI == 1 ? 0 : h)) * cfg.S + i) * C::K;

  for (int d = lane; d < C::D; d += 32) Qs[d] = ds_load(q, row * C::D + d);
  for (int e = lane; e < C::KPAD; e += 32) {
    long long x = e < C::K ? list[C::IDX_SPLAT ? 0 : e] : -1;
    keys[e] = x >= 0 && x < cfg.L ? (int)x : SENTINEL;
  }
  __syncwarp();
  // Bitonic sort, ascending: pairs (lo, lo + stride) ordered by lo's block of `size`.
  for (int size = 2; size <= C::KPAD; size <<= 1)
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int e = lane; e < C::KPAD / 2; e += 32) {
        int lo = (e / stride) * 2 * stride + e % stride, hi = lo + stride;
        int a = keys[lo], c = keys[hi];
        if ((a > c) == ((lo & size) == 0)) {
          keys[lo] = c;
          keys[hi] = a;
        }
      }
      __syncwarp();
    }

  const int last = C::CAUSAL ? i + cfg.CAUSAL_OFFSET : SENTINEL - 1; // largest visible key
  float m = -DS_INF, l = 0.f, acc[DV_PER_LANE];
#pragma unroll
  for (int t = 0; t < DV_PER_LANE; ++t) acc[t] = 0.f;
  for (int c = 0; c < C::KPAD; c += 32) {
    if (keys[c] > last || keys[c] == SENTINEL) break; // sorted: the rest is hidden too
    const int x = keys[c + lane];
    const bool visible = x != SENTINEL && x <= last && (c + lane == 0 || keys[c + lane - 1] != x);
    // Gather the tile's key rows (hidden ones are not read).
    for (int jj = 0; jj < 32; ++jj) {
      int xj = __shfl_sync(0xffffffffu, x, jj);
      bool vj = __shfl_sync(0xffffffffu, visible, jj);
      if (vj)
        for (int d = lane; d < C::D; d += 32) Ks[jj * (C::D + 1) + d] = ds_load(kh, (long long)xj * C::D + d);
    }
    __syncwarp();
    float s = -DS_INF;
    if (visible) {
      s = 0.f;
#pragma unroll 8
      for (int d = 0; d < C::D; ++d) s += Qs[d] * Ks[lane * (C::D + 1) + d];
      s *= C::SCALE;
    }
    const float mNew = fmaxf(m, ds_warp_max(s));
    if (mNew != -DS_INF) {
      const float p = s == -DS_INF ? 0.f : __expf(s - mNew);
      const float corr = m == -DS_INF ? 0.f : __expf(m - mNew);
      l = l * corr + ds_warp_sum(p);
      m = mNew;
#pragma unroll
      for (int t = 0; t < DV_PER_LANE; ++t) acc[t] *= corr;
      for (int jj = 0; jj < 32; ++jj) {
        float pj = __shfl_sync(0xffffffffu, p, jj);
        int xj = __shfl_sync(0xffffffffu, x, jj);
        if (pj == 0.f) continue; // uniform: a hidden key or an underflow
#pragma unroll
        for (int t = 0; t < DV_PER_LANE; ++t) {
          int d = lane + 32 * t;
          if (d < C::DV) acc[t] += pj * ds_load(vh, (long long)xj * C::DV + d);
        }
      }
    }
    __syncwarp(); // the tile's rows are consumed before the next gather
  }

  const float inv = l > 0.f ? 1.f / l : 0.f;
  T *o = out + row * C::DV;
#pragma unroll
  for (int t = 0; t < DV_PER_LANE; ++t) {
    int d = lane + 32 * t;
    if (d < C::DV) ds_store(o, d, acc[t] * inv);
  }
}

} // namespace ds_attention
