// FlashAttention.cuh - tiled attention with an online softmax (fp32 accumulation).
//
// out[b, h, i, :] = softmax_j(q[b,h,i,:] · k[b,h/G,j,:] * scale (+ mask)) · v[b,h/G,j,:]
// with G = HQ / HKV (grouped-query attention). Instantiated once per attention
// group by EmitAttention.cpp with a Config struct of compile-time constants:
//
//   struct Config {
//     static constexpr int B, HQ, HKV, S, L, D, DV;   // shapes
//     static constexpr float SCALE, SOFTCAP;          // SOFTCAP 0 = off
//     static constexpr bool CAUSAL; static constexpr int CAUSAL_OFFSET;
//     static constexpr int WINDOW, SINKS;             // sliding window (0: none), sink keys
//     static constexpr int MASK;                      // 0 none, 1 bool (true keeps), 2 additive
//     static constexpr long long MB, MH, MS, ML;      // mask strides over [B, HQ, S, L], 0 = broadcast
//   };
//
// Work split: a block of WARPS warps owns WARPS * ROWS query rows of one (b, h);
// each warp owns ROWS of them. Key/value tiles of BK = 32 rows are streamed
// through shared memory as float. For one query row, lane j scores key j of the
// tile (a dot product over D read from shared memory), the warp combines the
// scores with shuffles into the running max m and sum l (online softmax), and
// lane t accumulates output dims t, t+32, ... so V reads are conflict-free.
// Rows that see no key (fully masked) produce 0, as the reference semantics say.
//
// flash_attention is the plain-FMA variant (every element type; fp16/bf16 data
// is converted to float when a tile is staged). flash_attention_wmma, below,
// is the tensor-core variant for fp16/bf16 with head dims that are multiples
// of 16 up to 128.
// Shared memory (dynamic): K tile [BK][D+1] (padded: lane j reads row j),
// V tile [BK][DV], Q rows [WARPS*ROWS][D].

#include <mma.h>

namespace ds_attention {

// Tile sizes (EmitAttention.cpp computes grid and shared bytes from them).
#define DS_ATTN_WARPS 4
#define DS_ATTN_ROWS 4 // query rows per warp
#define DS_ATTN_BK 32  // keys per tile = warp size

template <typename T, typename M, typename C>
__device__ void flash_attention(const T *__restrict__ q, const T *__restrict__ k,
                                const T *__restrict__ v, const M *__restrict__ mask,
                                T *__restrict__ out) {
  constexpr int WARPS = DS_ATTN_WARPS, ROWS = DS_ATTN_ROWS, BK = DS_ATTN_BK;
  extern __shared__ float smem[];
  float *Ks = smem;                    // [BK][D + 1]
  float *Vs = Ks + BK * (C::D + 1);    // [BK][DV]
  float *Qs = Vs + BK * C::DV;         // [WARPS * ROWS][D]
  constexpr int DV_PER_LANE = (C::DV + 31) / 32;

  const int b = blockIdx.z, h = blockIdx.y, hk = h / (C::HQ / C::HKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row0 = blockIdx.x * WARPS * ROWS; // first query row of the block
  const T *qh = q + ((long long)b * C::HQ + h) * C::S * C::D;
  const T *kh = k + ((long long)b * C::HKV + hk) * C::L * C::D;
  const T *vh = v + ((long long)b * C::HKV + hk) * C::L * C::DV;

  // Stage this block's query rows once.
  for (int e = threadIdx.x; e < WARPS * ROWS * C::D; e += blockDim.x) {
    int r = e / C::D, d = e % C::D;
    Qs[e] = row0 + r < C::S ? ds_load(qh, (long long)(row0 + r) * C::D + d) : 0.f;
  }

  float m[ROWS], l[ROWS], acc[ROWS][DV_PER_LANE];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    m[r] = -DS_INF;
    l[r] = 0.f;
#pragma unroll
    for (int t = 0; t < DV_PER_LANE; ++t) acc[r][t] = 0.f;
  }

  // With causality no key beyond the block's last row (+ offset) is visible.
  int keyEnd = C::L;
  if (C::CAUSAL) {
    int last = row0 + WARPS * ROWS - 1 + C::CAUSAL_OFFSET + 1;
    keyEnd = last < keyEnd ? (last > 0 ? last : 0) : keyEnd;
  }

  for (int kt = 0; kt < keyEnd; kt += BK) {
    __syncthreads(); // previous tile fully consumed (and Qs staged, first time)
    for (int e = threadIdx.x; e < BK * C::D; e += blockDim.x) {
      int j = e / C::D, d = e % C::D;
      Ks[j * (C::D + 1) + d] = kt + j < C::L ? ds_load(kh, (long long)(kt + j) * C::D + d) : 0.f;
    }
    for (int e = threadIdx.x; e < BK * C::DV; e += blockDim.x) {
      int j = e / C::DV, d = e % C::DV;
      Vs[e] = kt + j < C::L ? ds_load(vh, (long long)(kt + j) * C::DV + d) : 0.f;
    }
    __syncthreads();

#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const int lr = warp * ROWS + r, i = row0 + lr, j = kt + lane;
      if (i >= C::S) continue; // uniform across the warp
      // Score of key j for query i.
      float s = 0.f;
#pragma unroll 8
      for (int d = 0; d < C::D; ++d) s += Qs[lr * C::D + d] * Ks[lane * (C::D + 1) + d];
      s *= C::SCALE;
      if (C::SOFTCAP > 0.f) s = C::SOFTCAP * tanhf(s / C::SOFTCAP);
      bool visible = j < C::L && (!C::CAUSAL || j <= i + C::CAUSAL_OFFSET) &&
                     (C::WINDOW == 0 || j > i + C::CAUSAL_OFFSET - C::WINDOW || j < C::SINKS);
      if (C::MASK != 0 && visible) {
        long long mi = b * C::MB + h * C::MH + i * C::MS + j * C::ML;
        if (C::MASK == 1) visible = ds_load(mask, mi);
        else s += ds_load(mask, mi);
      }
      if (!visible) s = -DS_INF;

      // Online softmax update of row r.
      float mNew = fmaxf(m[r], ds_warp_max(s));
      if (mNew == -DS_INF) continue; // nothing visible so far
      float p = s == -DS_INF ? 0.f : __expf(s - mNew);
      float corr = m[r] == -DS_INF ? 0.f : __expf(m[r] - mNew);
      l[r] = l[r] * corr + ds_warp_sum(p);
      m[r] = mNew;
#pragma unroll
      for (int t = 0; t < DV_PER_LANE; ++t) acc[r][t] *= corr;
      for (int jj = 0; jj < BK; ++jj) {
        float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
        for (int t = 0; t < DV_PER_LANE; ++t) {
          int d = lane + 32 * t;
          if (d < C::DV) acc[r][t] += pj * Vs[jj * C::DV + d];
        }
      }
    }
  }

  // Normalize and store; fully masked rows give 0.
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const int i = row0 + warp * ROWS + r;
    if (i >= C::S) continue;
    float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    T *o = out + (((long long)b * C::HQ + h) * C::S + i) * C::DV;
#pragma unroll
    for (int t = 0; t < DV_PER_LANE; ++t) {
      int d = lane + 32 * t;
      if (d < C::DV) ds_store(o, d, acc[r][t] * inv);
    }
  }
}

// ---- tensor-core variant (fp16 / bf16) ----
//
// A block of 4 warps owns 64 query rows, each warp 16 of them: exactly one
// row of 16x16x16 WMMA tiles. Per tile of 64 keys:
//   1. S = Q Kᵀ on tensor cores (fp32 accumulators), stored to shared memory;
//   2. the warp's rows get the online-softmax update in fp32 (scale, softcap,
//      causal / mask / bounds to -inf, running max m and sum l), P = exp(S - m)
//      is stored in T for the next product, and the output rows are rescaled;
//   3. O += P V on tensor cores, O kept in shared memory as fp32.
// Shared memory (dynamic, 32-byte aligned sections): Q [64][D], K [64][D],
// V [64][DV], P [64][64] in T; S [64][64], O [64][DV], m [64], l [64] in float.
#define DS_ATTN_WMMA_ROWS 64 // query rows per block (4 warps x 16)
#define DS_ATTN_WMMA_BK 64   // keys per tile

template <typename T> __device__ __forceinline__ T ds_from_float(float v);
template <> __device__ __forceinline__ __half ds_from_float<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 ds_from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

template <typename T, typename M, typename C>
__device__ void flash_attention_wmma(const T *__restrict__ q, const T *__restrict__ k,
                                     const T *__restrict__ v, const M *__restrict__ mask,
                                     T *__restrict__ out) {
  using namespace nvcuda;
  constexpr int BQ = DS_ATTN_WMMA_ROWS, BK = DS_ATTN_WMMA_BK, D = C::D, DV = C::DV;
  static_assert(D % 16 == 0 && DV % 16 == 0, "head dims must be multiples of 16");
  extern __shared__ __align__(128) unsigned char ds_attn_smem[];
  T *Qs = reinterpret_cast<T *>(ds_attn_smem); // [BQ][D]
  T *Ks = Qs + BQ * D;                          // [BK][D]
  T *Vs = Ks + BK * D;                          // [BK][DV]
  T *Ps = Vs + BK * DV;                         // [BQ][BK]
  float *Ss = reinterpret_cast<float *>(Ps + BQ * BK); // [BQ][BK]
  float *Os = Ss + BQ * BK;                            // [BQ][DV]
  float *Ms = Os + BQ * DV;                            // [BQ]
  float *Ls = Ms + BQ;                                 // [BQ]

  const int b = blockIdx.z, h = blockIdx.y, hk = h / (C::HQ / C::HKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row0 = blockIdx.x * BQ;
  const T *qh = q + ((long long)b * C::HQ + h) * C::S * D;
  const T *kh = k + ((long long)b * C::HKV + hk) * C::L * D;
  const T *vh = v + ((long long)b * C::HKV + hk) * C::L * DV;
  const T zero = ds_from_float<T>(0.f);

  for (int e = threadIdx.x; e < BQ * D; e += blockDim.x) {
    int r = e / D, d = e % D;
    Qs[e] = row0 + r < C::S ? qh[(long long)(row0 + r) * D + d] : zero;
  }
  for (int e = threadIdx.x; e < BQ * DV; e += blockDim.x) Os[e] = 0.f;
  for (int e = threadIdx.x; e < BQ; e += blockDim.x) {
    Ms[e] = -DS_INF;
    Ls[e] = 0.f;
  }
  __syncthreads();

  int keyEnd = C::L;
  if (C::CAUSAL) {
    int last = row0 + BQ - 1 + C::CAUSAL_OFFSET + 1;
    keyEnd = last < keyEnd ? (last > 0 ? last : 0) : keyEnd;
  }
  const int wr = warp * 16; // the warp's first row in the block

  for (int kt = 0; kt < keyEnd; kt += BK) {
    __syncthreads(); // the previous tile is consumed
    for (int e = threadIdx.x; e < BK * D; e += blockDim.x) {
      int j = e / D, d = e % D;
      Ks[e] = kt + j < C::L ? kh[(long long)(kt + j) * D + d] : zero;
    }
    for (int e = threadIdx.x; e < BK * DV; e += blockDim.x) {
      int j = e / DV, d = e % DV;
      Vs[e] = kt + j < C::L ? vh[(long long)(kt + j) * DV + d] : zero;
    }
    __syncthreads();

    // 1. S = Q Kᵀ for the warp's 16 rows (K read as a column-major Kᵀ).
    for (int kn = 0; kn < BK / 16; ++kn) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kd = 0; kd < D / 16; ++kd) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> bt;
        wmma::load_matrix_sync(a, Qs + wr * D + kd * 16, D);
        wmma::load_matrix_sync(bt, Ks + kn * 16 * D + kd * 16, D);
        wmma::mma_sync(acc, a, bt, acc);
      }
      wmma::store_matrix_sync(Ss + wr * BK + kn * 16, acc, BK, wmma::mem_row_major);
    }
    __syncwarp();

    // 2. Online softmax, one row at a time, two keys per lane.
    for (int r = 0; r < 16; ++r) {
      const int lr = wr + r, i = row0 + lr;
      float s[2];
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const int jj = lane + 32 * hf, j = kt + jj;
        float x = Ss[lr * BK + jj] * C::SCALE;
        if (C::SOFTCAP > 0.f) x = C::SOFTCAP * tanhf(x / C::SOFTCAP);
        bool visible = i < C::S && j < C::L && (!C::CAUSAL || j <= i + C::CAUSAL_OFFSET) &&
                       (C::WINDOW == 0 || j > i + C::CAUSAL_OFFSET - C::WINDOW || j < C::SINKS);
        if (C::MASK != 0 && visible) {
          long long mi = b * C::MB + h * C::MH + i * C::MS + j * C::ML;
          if (C::MASK == 1) visible = ds_load(mask, mi);
          else x += ds_load(mask, mi);
        }
        s[hf] = visible ? x : -DS_INF;
      }
      const float mOld = Ms[lr];
      const float mNew = fmaxf(mOld, ds_warp_max(fmaxf(s[0], s[1])));
      float p0 = 0.f, p1 = 0.f, corr = 0.f;
      if (mNew != -DS_INF) {
        p0 = s[0] == -DS_INF ? 0.f : __expf(s[0] - mNew);
        p1 = s[1] == -DS_INF ? 0.f : __expf(s[1] - mNew);
        corr = mOld == -DS_INF ? 0.f : __expf(mOld - mNew);
      }
      Ps[lr * BK + lane] = ds_from_float<T>(p0);
      Ps[lr * BK + lane + 32] = ds_from_float<T>(p1);
      const float sum = ds_warp_sum(p0 + p1); // every lane has read Ms / Ls by now
      if (lane == 0) {
        Ms[lr] = mNew;
        Ls[lr] = Ls[lr] * corr + sum;
      }
      for (int d = lane; d < DV; d += 32) Os[lr * DV + d] *= corr;
    }
    __syncwarp();

    // 3. O += P V.
    for (int dn = 0; dn < DV / 16; ++dn) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> o;
      wmma::load_matrix_sync(o, Os + wr * DV + dn * 16, DV, wmma::mem_row_major);
      for (int kk = 0; kk < BK / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> bv;
        wmma::load_matrix_sync(a, Ps + wr * BK + kk * 16, BK);
        wmma::load_matrix_sync(bv, Vs + kk * 16 * DV + dn * 16, DV);
        wmma::mma_sync(o, a, bv, o);
      }
      wmma::store_matrix_sync(Os + wr * DV + dn * 16, o, DV, wmma::mem_row_major);
    }
    __syncwarp();
  }

  // Normalize the warp's rows; fully masked rows give 0.
  for (int r = 0; r < 16; ++r) {
    const int lr = wr + r, i = row0 + lr;
    if (i >= C::S) continue;
    const float l = Ls[lr], inv = l > 0.f ? 1.f / l : 0.f;
    T *o = out + (((long long)b * C::HQ + h) * C::S + i) * DV;
    for (int d = lane; d < DV; d += 32) ds_store(o, d, Os[lr * DV + d] * inv);
  }
}

} // namespace ds_attention
