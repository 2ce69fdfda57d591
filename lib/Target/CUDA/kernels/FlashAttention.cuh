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
// This is the plain-FMA variant used for every element type; fp16/bf16 data is
// converted to float when a tile is staged.
// Shared memory (dynamic): K tile [BK][D+1] (padded: lane j reads row j),
// V tile [BK][DV], Q rows [WARPS*ROWS][D].

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
      bool visible = j < C::L && (!C::CAUSAL || j <= i + C::CAUSAL_OFFSET);
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

} // namespace ds_attention
