// BlockSelectAttention.cuh - causal attention over blocks chosen per query block
// (ds.attention with select_blocks = n and block_size = b: NSA-style selection).
//
// Queries and keys are cut in blocks of b positions. Query block [i0, i1) sees
// the first key block, its local key blocks (from the one holding key
// d(i0) - b + 1 to the one holding d(i1 - 1), d(i) = i + CAUSAL_OFFSET) and
// the n earlier key blocks c whose summed keys score highest against the
// block's summed queries (ties: the lower block); within them, causality.
// The same choice as the CPU backend (cpu/FlashAttention.cpp), up to the
// order of the float sums (a near tie may choose another block).
// Instantiated per group by EmitAttention.cpp with a Config struct:
//
//   struct Config {
//     static constexpr int HQ, HKV, D, DV;     // heads, head dims
//     static constexpr float SCALE, SOFTCAP;   // SOFTCAP 0 = off
//     static constexpr int SELECT, BLOCK;      // n, b (1 to 128)
//     static constexpr int MAX_BLOCKS;         // key blocks shared memory holds, >= ceil(L / b)
//     int S, L, CAUSAL_OFFSET;                 // queries, keys, diagonal offset
//   };
//
// One thread block of 4 warps per (query block, head, batch). First the
// choice: the block's summed query in shared memory, each warp scoring key
// blocks (lane t sums key dims t, t + 32, ... over the block's keys: coalesced
// reads; a warp sum gives the score), warp 0 taking the n best by repeated
// arg-max; the kept blocks are flags in shared memory. Then groups of 16 query
// rows (4 per warp), as the FMA flash kernel: tiles of 32 keys of the kept
// blocks staged in shared memory, lane j scoring key j, an online softmax in
// fp32, lane t accumulating output dims t, t + 32, ... Summing a key block
// costs b D reads per scored block; for every query block and head, the
// scoring reads the keys before the local blocks once.
// Shared memory (dynamic): K tile [32][D + 1], V tile [32][DV], Q rows
// [16][D], the summed query [D], scores [MAX_BLOCKS], kept flags [MAX_BLOCKS].

namespace ds_attention {

template <typename T, typename C>
__device__ void flash_attention_select(const T *__restrict__ q, const T *__restrict__ k,
                                       const T *__restrict__ v, T *__restrict__ out,
                                       const C cfg) {
  constexpr int WARPS = 4, ROWS = 4, BK = 32, B = C::BLOCK;
  constexpr int DV_PER_LANE = (C::DV + 31) / 32;
  extern __shared__ float smem[];
  float *Ks = smem;                          // [BK][D + 1]
  float *Vs = Ks + BK * (C::D + 1);          // [BK][DV]
  float *Qs = Vs + BK * C::DV;               // [WARPS * ROWS][D]
  float *qsum = Qs + WARPS * ROWS * C::D;    // [D]
  float *score = qsum + C::D;                // [MAX_BLOCKS]
  int *kept = (int *)(score + C::MAX_BLOCKS); // [MAX_BLOCKS]

  const int b = blockIdx.z, h = blockIdx.y, hk = h / (C::HQ / C::HKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int i0 = blockIdx.x * B, i1 = min(cfg.S, i0 + B);
  const T *qh = q + ((long long)b * C::HQ + h) * cfg.S * C::D;
  const T *kh = k + ((long long)b * C::HKV + hk) * cfg.L * C::D;
  const T *vh = v + ((long long)b * C::HKV + hk) * cfg.L * C::DV;

  // The key blocks this query block sees.
  const long long d0 = (long long)i0 + cfg.CAUSAL_OFFSET, dLast = (long long)i1 - 1 + cfg.CAUSAL_OFFSET;
  const int keyEnd = dLast + 1 < 0 ? 0 : (dLast + 1 > cfg.L ? cfg.L : (int)(dLast + 1));
  const int blocks = (cfg.L + B - 1) / B;
  const long long firstLocalWide = (d0 - B + 1 > 0 ? d0 - B + 1 : 0) / B;
  const int firstLocal = firstLocalWide < blocks ? (int)firstLocalWide : blocks;
  const int lastLocal = keyEnd == 0 ? -1 : (keyEnd - 1) / B;
  // Candidates: the earlier blocks that exist (a diagonal past the keys has
  // its local blocks past them too), all of whose keys every row sees.
  const int candidatesEnd = keyEnd == 0 ? 0 : firstLocal;
  for (int c = threadIdx.x; c < blocks; c += blockDim.x)
    kept[c] = keyEnd > 0 && ((c >= firstLocal && c <= lastLocal) || c == 0);
  if (candidatesEnd > 1) {
    for (int d = threadIdx.x; d < C::D; d += blockDim.x) {
      float s = 0.f;
      for (int i = i0; i < i1; ++i) s += ds_load(qh, (long long)i * C::D + d);
      qsum[d] = s;
    }
    __syncthreads();
    for (int c = 1 + warp; c < candidatesEnd; c += WARPS) {
      const int end = (c + 1) * B < cfg.L ? (c + 1) * B : cfg.L;
      float part = 0.f;
      for (int d = lane; d < C::D; d += 32) {
        float ks = 0.f;
        for (int j = c * B; j < end; ++j) ks += ds_load(kh, (long long)j * C::D + d);
        part += qsum[d] * ks;
      }
      const float sigma = ds_warp_sum(part);
      if (lane == 0) score[c] = sigma;
    }
    __syncthreads();
    if (warp == 0) {
      const int rounds = C::SELECT < candidatesEnd - 1 ? C::SELECT : candidatesEnd - 1;
      for (int r = 0; r < rounds; ++r) {
        float best = 0.f;
        int bestC = -1;
        for (int c = 1 + lane; c < candidatesEnd; c += 32)
          if (!kept[c] && (bestC < 0 || score[c] > best)) { // ascending c: a tie keeps the lower
            best = score[c];
            bestC = c;
          }
        for (int off = 16; off > 0; off >>= 1) {
          const float ob = __shfl_xor_sync(0xffffffffu, best, off);
          const int oc = __shfl_xor_sync(0xffffffffu, bestC, off);
          if (oc >= 0 && (bestC < 0 || ob > best || (ob == best && oc < bestC))) {
            best = ob;
            bestC = oc;
          }
        }
        if (lane == 0 && bestC >= 0) kept[bestC] = 1;
        __syncwarp();
      }
    }
  }

  // Attention over the kept blocks, 16 query rows at a time.
  for (int g0 = i0; g0 < i1; g0 += WARPS * ROWS) {
    __syncthreads(); // the choice is made; the previous group is done with Qs, Ks, Vs
    for (int e = threadIdx.x; e < WARPS * ROWS * C::D; e += blockDim.x) {
      const int r = e / C::D, d = e % C::D;
      Qs[e] = g0 + r < i1 ? ds_load(qh, (long long)(g0 + r) * C::D + d) : 0.f;
    }
    float m[ROWS], l[ROWS], acc[ROWS][DV_PER_LANE];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      m[r] = -DS_INF;
      l[r] = 0.f;
#pragma unroll
      for (int t = 0; t < DV_PER_LANE; ++t) acc[r][t] = 0.f;
    }
    // Runs of adjacent kept blocks (the first and the local ones, chosen
    // neighbours) in tiles of 32 keys; kept[] is read after a barrier, so
    // every thread walks the same runs.
    for (int c = 0; c < blocks;) {
      if (!kept[c]) {
        ++c;
        continue;
      }
      int c2 = c + 1;
      while (c2 < blocks && kept[c2]) ++c2;
      const int runEnd = c2 * B < keyEnd ? c2 * B : keyEnd;
      const int runStart = c * B;
      c = c2;
      for (int kt = runStart; kt < runEnd; kt += BK) {
        __syncthreads(); // the previous tile is consumed (and Qs staged, the first time)
        for (int e = threadIdx.x; e < BK * C::D; e += blockDim.x) {
          const int j = e / C::D, d = e % C::D;
          Ks[j * (C::D + 1) + d] = kt + j < runEnd ? ds_load(kh, (long long)(kt + j) * C::D + d) : 0.f;
        }
        for (int e = threadIdx.x; e < BK * C::DV; e += blockDim.x) {
          const int j = e / C::DV, d = e % C::DV;
          Vs[e] = kt + j < runEnd ? ds_load(vh, (long long)(kt + j) * C::DV + d) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < ROWS; ++r) {
          const int lr = warp * ROWS + r, i = g0 + lr, j = kt + lane;
          if (i >= i1) continue; // uniform across the warp
          float s = 0.f;
#pragma unroll 8
          for (int d = 0; d < C::D; ++d) s += Qs[lr * C::D + d] * Ks[lane * (C::D + 1) + d];
          s *= C::SCALE;
          if (C::SOFTCAP > 0.f) s = C::SOFTCAP * tanhf(s / C::SOFTCAP);
          if (!(j < runEnd && (long long)j <= (long long)i + cfg.CAUSAL_OFFSET)) s = -DS_INF;
          const float mNew = fmaxf(m[r], ds_warp_max(s));
          if (mNew == -DS_INF) continue; // nothing visible so far
          const float p = s == -DS_INF ? 0.f : __expf(s - mNew);
          const float corr = m[r] == -DS_INF ? 0.f : __expf(m[r] - mNew);
          l[r] = l[r] * corr + ds_warp_sum(p);
          m[r] = mNew;
#pragma unroll
          for (int t = 0; t < DV_PER_LANE; ++t) acc[r][t] *= corr;
          for (int jj = 0; jj < BK; ++jj) {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
            for (int t = 0; t < DV_PER_LANE; ++t) {
              const int d = lane + 32 * t;
              if (d < C::DV) acc[r][t] += pj * Vs[jj * C::DV + d];
            }
          }
        }
      }
    }
    // Normalize and store; rows that see no key give 0.
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const int i = g0 + warp * ROWS + r;
      if (i >= i1) continue;
      const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
      T *o = out + (((long long)b * C::HQ + h) * cfg.S + i) * C::DV;
#pragma unroll
      for (int t = 0; t < DV_PER_LANE; ++t) {
        const int d = lane + 32 * t;
        if (d < C::DV) ds_store(o, d, acc[r][t] * inv);
      }
    }
  }
}

} // namespace ds_attention
