// FlashAttention.cuh - tiled attention with an online softmax (fp32 accumulation).
//
// out[b, h, i, :] = softmax_j(q[b,h,i,:] · k[b,h/G,j,:] * scale (+ mask)) · v[b,h/G,j,:]
// with G = HQ / HKV (grouped-query attention). Instantiated once per attention
// group by EmitAttention.cpp with a Config struct: head counts, head dims and
// flags are compile-time constants, the sizes a dynamic program binds at
// launch are members of the value passed in (numbers in a static program,
// which the compiler then folds as constants):
//
//   struct Config {
//     static constexpr int HQ, HKV, D, DV;            // heads, head dims
//     static constexpr float SCALE, SOFTCAP;          // SOFTCAP 0 = off
//     static constexpr bool CAUSAL;
//     static constexpr int WINDOW, SINKS;             // sliding window (0: none), sink keys
//     static constexpr int MASK;                      // 0 none, 1 bool (true keeps), 2 additive
//     static constexpr int LAYOUT_BLOCK, LAYOUT_HEADS; // block layout (0: none)
//     static constexpr bool LAYOUT_SPLAT;             // the layout is one value (a table of one)
//     int S, L, CAUSAL_OFFSET;                        // queries, keys, diagonal offset
//     long long MB, MH, MS, ML;                       // mask strides over [B, HQ, S, L], 0 = broadcast
//     const bool *LAYOUT;                             // [LAYOUT_HEADS, ceil(S / b), ceil(L / b)]
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
// is converted to float when a tile is staged). flash_attention_mma, below,
// is the tensor-core variant for fp16/bf16 with head dims that are multiples
// of 16 up to 128.
// Shared memory (dynamic): K tile [BK][D+1] (padded: lane j reads row j),
// V tile [BK][DV], Q rows [WARPS*ROWS][D], one int (the layout's verdict).

namespace ds_attention {

// Tile sizes (EmitAttention.cpp computes grid and shared bytes from them).
#define DS_ATTN_WARPS 4
#define DS_ATTN_ROWS 4 // query rows per warp
#define DS_ATTN_BK 32  // keys per tile = warp size

/// Head h's block layout ([1 or HQ, query blocks, key blocks], or one value
/// when LAYOUT_SPLAT): kept(r, c) says whether query block r keeps key
/// block c. Both flash kernels read it.
template <typename C> struct BlockLayoutView {
  const bool *layout;
  int cols;
  __device__ BlockLayoutView(const C &cfg, int h) {
    const int block = C::LAYOUT_BLOCK > 0 ? C::LAYOUT_BLOCK : 1;
    const int rows = (cfg.S + block - 1) / block;
    cols = (cfg.L + block - 1) / block;
    layout = C::LAYOUT_BLOCK > 0 && !C::LAYOUT_SPLAT
                 ? cfg.LAYOUT + (long long)(C::LAYOUT_HEADS == 1 ? 0 : h) * rows * cols
                 : cfg.LAYOUT;
  }
  __device__ bool kept(int r, int c) const { return layout[C::LAYOUT_SPLAT ? 0 : r * cols + c]; }
};

template <typename T, typename M, typename C>
__device__ void flash_attention(const T *__restrict__ q, const T *__restrict__ k,
                                const T *__restrict__ v, const M *__restrict__ mask,
                                T *__restrict__ out, const C cfg) {
  constexpr int WARPS = DS_ATTN_WARPS, ROWS = DS_ATTN_ROWS, BK = DS_ATTN_BK;
  extern __shared__ float smem[];
  float *Ks = smem;                    // [BK][D + 1]
  float *Vs = Ks + BK * (C::D + 1);    // [BK][DV]
  float *Qs = Vs + BK * C::DV;         // [WARPS * ROWS][D]
  constexpr int DV_PER_LANE = (C::DV + 31) / 32;

  const int b = blockIdx.z, h = blockIdx.y, hk = h / (C::HQ / C::HKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row0 = blockIdx.x * WARPS * ROWS; // first query row of the block
  const T *qh = q + ((long long)b * C::HQ + h) * cfg.S * C::D;
  const T *kh = k + ((long long)b * C::HKV + hk) * cfg.L * C::D;
  const T *vh = v + ((long long)b * C::HKV + hk) * cfg.L * C::DV;

  // Stage this block's query rows once.
  for (int e = threadIdx.x; e < WARPS * ROWS * C::D; e += blockDim.x) {
    int r = e / C::D, d = e % C::D;
    Qs[e] = row0 + r < cfg.S ? ds_load(qh, (long long)(row0 + r) * C::D + d) : 0.f;
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
  int keyEnd = cfg.L;
  if (C::CAUSAL) {
    int last = row0 + WARPS * ROWS - 1 + cfg.CAUSAL_OFFSET + 1;
    keyEnd = last < keyEnd ? (last > 0 ? last : 0) : keyEnd;
  }

  // A block layout: key tiles no row block of this block keeps are skipped
  // (the decision is shared through `keep`, after Qs, so the block stays in
  // step).
  int &keep = *(int *)(Qs + WARPS * ROWS * C::D);
  const BlockLayoutView<C> layout(cfg, h);
  auto kept = [&](int r, int c) { return layout.kept(r, c); };

  // A sliding window: key tiles before the window of the block's first row
  // that hold no sink key are skipped (no row of the block sees them).
  const long long windowStart =
      C::WINDOW > 0 ? (long long)row0 + cfg.CAUSAL_OFFSET - C::WINDOW + 1 : 0;

  for (int kt = 0; kt < keyEnd; kt += BK) {
    if (C::WINDOW > 0 && kt >= C::SINKS && kt + BK <= windowStart) continue; // uniform
    __syncthreads(); // previous tile fully consumed (and Qs staged, first time)
    if (C::LAYOUT_BLOCK > 0) {
      if (threadIdx.x == 0) {
        const int rLast = min(cfg.S - 1, row0 + WARPS * ROWS - 1) / C::LAYOUT_BLOCK;
        const int cLast = min(cfg.L - 1, kt + BK - 1) / C::LAYOUT_BLOCK;
        int any = 0;
        for (int r = row0 / C::LAYOUT_BLOCK; r <= rLast && !any; ++r)
          for (int c = kt / C::LAYOUT_BLOCK; c <= cLast && !any; ++c)
            any = kept(r, c);
        keep = any;
      }
      __syncthreads();
      if (!keep) continue;
    }
    for (int e = threadIdx.x; e < BK * C::D; e += blockDim.x) {
      int j = e / C::D, d = e % C::D;
      Ks[j * (C::D + 1) + d] = kt + j < cfg.L ? ds_load(kh, (long long)(kt + j) * C::D + d) : 0.f;
    }
    for (int e = threadIdx.x; e < BK * C::DV; e += blockDim.x) {
      int j = e / C::DV, d = e % C::DV;
      Vs[e] = kt + j < cfg.L ? ds_load(vh, (long long)(kt + j) * C::DV + d) : 0.f;
    }
    __syncthreads();

#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const int lr = warp * ROWS + r, i = row0 + lr, j = kt + lane;
      if (i >= cfg.S) continue; // uniform across the warp
      // Score of key j for query i.
      float s = 0.f;
#pragma unroll 8
      for (int d = 0; d < C::D; ++d) s += Qs[lr * C::D + d] * Ks[lane * (C::D + 1) + d];
      s *= C::SCALE;
      if (C::SOFTCAP > 0.f) s = C::SOFTCAP * tanhf(s / C::SOFTCAP);
      bool visible = j < cfg.L && (!C::CAUSAL || j <= i + cfg.CAUSAL_OFFSET) &&
                     (C::WINDOW == 0 || j > i + cfg.CAUSAL_OFFSET - C::WINDOW || j < C::SINKS);
      if (C::LAYOUT_BLOCK > 0 && visible)
        visible = kept(i / C::LAYOUT_BLOCK, j / C::LAYOUT_BLOCK);
      if (C::MASK != 0 && visible) {
        long long mi = b * cfg.MB + h * cfg.MH + i * cfg.MS + j * cfg.ML;
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
    if (i >= cfg.S) continue;
    float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    T *o = out + (((long long)b * C::HQ + h) * cfg.S + i) * C::DV;
#pragma unroll
    for (int t = 0; t < DV_PER_LANE; ++t) {
      int d = lane + 32 * t;
      if (d < C::DV) ds_store(o, d, acc[r][t] * inv);
    }
  }
}

// ---- tensor-core variant (fp16 / bf16): mma.sync m16n8k16, FlashAttention-2 style ----
//
// A block of 4 warps owns 64 query rows, each warp 16. Key/value tiles of 64
// rows stream through two shared-memory buffers filled with cp.async, so the
// copy of tile t+1 overlaps the math on tile t. Per tile everything stays in
// registers: S = Q Kᵀ (Q's fragments loaded once, fp32 accumulators); the
// online softmax runs on the accumulators, where one row's values live in the
// four lanes of a quad (two shuffles reduce a row); P, converted to T, is
// reused as the A fragments of O += P V with no trip through shared memory.
// Fragments come from shared memory through ldmatrix (transposing for V);
// Q passes through the second K buffer before tile 1 needs it, which keeps
// shared memory at two K/V buffers (70 KB at head dim 128: three blocks per
// SM on Hopper).
// rows are padded by 8 elements so that the eight rows of each 8x8 matrix
// fall into different banks. Causal grids start with the row blocks
// that see the most keys. Fragment layouts are PTX's for m16n8k16 (row g =
// lane / 4, column pair 2 (lane % 4)); utils/cuda_host_emulate.py emulates
// the primitives below lane by lane.
#define DS_ATTN_MMA_ROWS 64 // query rows per block (4 warps x 16)
#define DS_ATTN_MMA_BK 64   // keys per tile
#define DS_ATTN_MMA_PAD 8   // elements of padding per shared row

#ifndef DS_HOST_EMULATION
template <typename T>
__device__ __forceinline__ void ds_mma16816(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]);
template <>
__device__ __forceinline__ void ds_mma16816<__half>(float (&d)[4], const unsigned (&a)[4],
                                                    const unsigned (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
               "{%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
template <>
__device__ __forceinline__ void ds_mma16816<__nv_bfloat16>(float (&d)[4], const unsigned (&a)[4],
                                                           const unsigned (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
               "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
/// 16 bytes global -> shared without a register trip; zero-filled when !valid.
__device__ __forceinline__ void ds_cp_async16(void *dst, const void *src, bool valid) {
  unsigned s = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void ds_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void ds_cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }
/// Four 8x8 matrices of 16-bit elements from shared memory, lanes 8i..8i+7
/// giving the row addresses of matrix i; lane l receives row l / 4, columns
/// 2 (l % 4) and 2 (l % 4) + 1 of matrix i in r[i] (TRANS: column l / 4,
/// rows 2 (l % 4) and 2 (l % 4) + 1).
template <bool TRANS>
__device__ __forceinline__ void ds_ldmatrix_x4(unsigned (&r)[4], const void *row) {
  unsigned s = (unsigned)__cvta_generic_to_shared(row);
  if (TRANS)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}
template <typename T> __device__ __forceinline__ unsigned ds_pack2(float lo, float hi);
template <> __device__ __forceinline__ unsigned ds_pack2<__half>(float lo, float hi) {
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<unsigned *>(&h);
}
template <> __device__ __forceinline__ unsigned ds_pack2<__nv_bfloat16>(float lo, float hi) {
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<unsigned *>(&h);
}
#endif

/// Rows [first, first + rows) of a [limit][width] matrix into shared rows of
/// `ld` elements, 16 bytes per copy; rows at or past `limit` become zeros.
template <typename T>
__device__ __forceinline__ void ds_attn_stage(T *dst, int ld, const T *src, int rows, int first,
                                              int limit, int width) {
  const int chunks = width / 8;
  for (int e = threadIdx.x; e < rows * chunks; e += blockDim.x) {
    const int r = e / chunks, c = (e % chunks) * 8;
    const bool ok = first + r < limit;
    ds_cp_async16(dst + r * ld + c, src + (long long)(ok ? first + r : 0) * width + c, ok);
  }
}

template <typename T, typename M, typename C>
__device__ void flash_attention_mma(const T *__restrict__ q, const T *__restrict__ k,
                                    const T *__restrict__ v, const M *__restrict__ mask,
                                    T *__restrict__ out, const C cfg) {
  constexpr int BQ = DS_ATTN_MMA_ROWS, BK = DS_ATTN_MMA_BK, D = C::D, DV = C::DV;
  constexpr int LDQ = D + DS_ATTN_MMA_PAD, LDV = DV + DS_ATTN_MMA_PAD;
  static_assert(D % 16 == 0 && DV % 16 == 0, "head dims must be multiples of 16");
  extern __shared__ __align__(128) unsigned char ds_attn_smem[];
  static_assert(BQ == BK, "the Q tile borrows the second K buffer");
  T *Ks = reinterpret_cast<T *>(ds_attn_smem); // 2 x [BK][LDQ]
  T *Vs = Ks + 2 * BK * LDQ;                    // 2 x [BK][LDV]
  T *Qs = Ks + BK * LDQ; // [BQ][LDQ] until its fragments are in registers

  const int b = blockIdx.z, h = blockIdx.y, hk = h / (C::HQ / C::HKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int mi = lane >> 3, mr = lane & 7; // the ldmatrix matrix and row this lane addresses
  const int rowBlock = C::CAUSAL ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
  const int row0 = rowBlock * BQ, wr = warp * 16;
  const T *qh = q + ((long long)b * C::HQ + h) * cfg.S * D;
  const T *kh = k + ((long long)b * C::HKV + hk) * cfg.L * D;
  const T *vh = v + ((long long)b * C::HKV + hk) * cfg.L * DV;

  int keyEnd = cfg.L;
  if (C::CAUSAL) {
    int last = row0 + BQ - 1 + cfg.CAUSAL_OFFSET + 1;
    keyEnd = last < keyEnd ? (last > 0 ? last : 0) : keyEnd;
  }
  // The key tiles the block reads: with a sliding window, those holding sink
  // keys and then those from the tile where the window of the block's first
  // row starts (no row of the block sees the tiles between).
  const int endTile = (keyEnd + BK - 1) / BK;
  int sinkTiles = 0, firstTile = 0;
  if (C::WINDOW > 0) {
    const long long windowStart = (long long)row0 + cfg.CAUSAL_OFFSET - C::WINDOW + 1;
    firstTile = windowStart <= 0 ? 0 : windowStart / BK < endTile ? (int)(windowStart / BK) : endTile;
    const long long sinkEnd = ((long long)C::SINKS + BK - 1) / BK;
    sinkTiles = sinkEnd < firstTile ? (int)sinkEnd : firstTile;
  }
  int tiles = sinkTiles + endTile - firstTile;
  // A block layout: the key tiles any row of the block keeps, listed in
  // shared memory after the K / V buffers ([endTile] flags, then the count);
  // the warps flag tiles, thread 0 turns the flags into the list in place
  // (the n-th kept tile is at or after n).
  int *tileKept = reinterpret_cast<int *>(Vs + 2 * BK * LDV), *tileList = tileKept;
  const BlockLayoutView<C> layout(cfg, h);
  auto kept = [&](int r, int c) { return layout.kept(r, c); };
  if (C::LAYOUT_BLOCK > 0) {
    const int rFirst = row0 / C::LAYOUT_BLOCK,
              rLast = (row0 + BQ - 1 < cfg.S - 1 ? row0 + BQ - 1 : cfg.S - 1) / C::LAYOUT_BLOCK;
    for (int tile = warp; tile < endTile; tile += 4) {
      const int cFirst = tile * BK / C::LAYOUT_BLOCK,
                cLast = ((tile + 1) * BK - 1 < cfg.L - 1 ? (tile + 1) * BK - 1 : cfg.L - 1) / C::LAYOUT_BLOCK;
      const int cols = cLast - cFirst + 1;
      int any = 0;
      for (int e = lane; e < (rLast - rFirst + 1) * cols && !any; e += 32)
        any = kept(rFirst + e / cols, cFirst + e % cols);
      for (int off = 16; off > 0; off >>= 1) any |= __shfl_xor_sync(0xffffffffu, any, off);
      if (lane == 0) tileKept[tile] = any;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int n = 0;
      for (int tile = 0; tile < endTile; ++tile)
        if (tileKept[tile]) tileList[n++] = tile;
      tileKept[endTile] = n;
    }
    __syncthreads();
    tiles = tileKept[endTile];
  }
  auto tileKey = [&](int it) {
    if (C::LAYOUT_BLOCK > 0) return tileList[it] * BK;
    return (it < sinkTiles ? it : firstTile + it - sinkTiles) * BK;
  };
  ds_attn_stage(Qs, LDQ, qh, BQ, row0, cfg.S, D);
  if (tiles > 0) {
    ds_attn_stage(Ks, LDQ, kh, BK, tileKey(0), cfg.L, D);
    ds_attn_stage(Vs, LDV, vh, BK, tileKey(0), cfg.L, DV);
  }
  ds_cp_async_commit();

  float o[DV / 8][4];
#pragma unroll
  for (int dn = 0; dn < DV / 8; ++dn)
    o[dn][0] = o[dn][1] = o[dn][2] = o[dn][3] = 0.f;
  float mRow[2] = {-DS_INF, -DS_INF}, lRow[2] = {0.f, 0.f};
  unsigned qa[D / 16][4];

  for (int it = 0; it < tiles; ++it) {
    ds_cp_async_wait_all();
    __syncthreads(); // tile `it` has landed; every warp is done with tile it - 1
    if (it == 0) { // A fragments of Q: matrices (rows 0-7 | 8-15) x (k 0-7 | 8-15)
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        ds_ldmatrix_x4<false>(qa[kk], Qs + (wr + mi % 2 * 8 + mr) * LDQ + kk * 16 + mi / 2 * 8);
      __syncthreads(); // every warp holds its Q: the buffer may take tile 1
    }
    if (it + 1 < tiles) { // prefetch into the buffer tile it - 1 used
      const int nb = (it + 1) & 1;
      ds_attn_stage(Ks + nb * BK * LDQ, LDQ, kh, BK, tileKey(it + 1), cfg.L, D);
      ds_attn_stage(Vs + nb * BK * LDV, LDV, vh, BK, tileKey(it + 1), cfg.L, DV);
    }
    ds_cp_async_commit();
    const T *Kt = Ks + (it & 1) * BK * LDQ, *Vt = Vs + (it & 1) * BK * LDV;
    const int kt = tileKey(it);

    // S = Q Kᵀ: B[kd][n] = K[n][kd]; one ldmatrix gives the B fragments of
    // key tiles nt and nt + 1 (matrices (keys) x (kd 0-7 | 8-15)).
    float s[BK / 8][4];
#pragma unroll
    for (int nt = 0; nt < BK / 8; ++nt)
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
#pragma unroll
    for (int nt = 0; nt < BK / 8; nt += 2)
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        unsigned kb[4];
        ds_ldmatrix_x4<false>(kb, Kt + ((nt + mi / 2) * 8 + mr) * LDQ + kk * 16 + mi % 2 * 8);
        const unsigned b0[2] = {kb[0], kb[1]}, b1[2] = {kb[2], kb[3]};
        ds_mma16816<T>(s[nt], qa[kk], b0);
        ds_mma16816<T>(s[nt + 1], qa[kk], b1);
      }

    // Scale, softcap and visibility; element e of s[nt] is row g + 8 (e / 2),
    // key kt + 8 nt + 2 t + e % 2.
    const bool edge = kt + BK > cfg.L || (C::CAUSAL && kt + BK - 1 > row0 + cfg.CAUSAL_OFFSET) ||
                      C::WINDOW != 0 || C::MASK != 0 || C::LAYOUT_BLOCK > 0;
    float tileMax[2] = {-DS_INF, -DS_INF};
#pragma unroll
    for (int nt = 0; nt < BK / 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[nt][e] * C::SCALE;
        if (C::SOFTCAP > 0.f) x = C::SOFTCAP * tanhf(x / C::SOFTCAP);
        if (edge) {
          const int i = row0 + wr + g + 8 * (e >> 1), j = kt + nt * 8 + 2 * t + (e & 1);
          bool visible = i < cfg.S && j < cfg.L && (!C::CAUSAL || j <= i + cfg.CAUSAL_OFFSET) &&
                         (C::WINDOW == 0 || j > i + cfg.CAUSAL_OFFSET - C::WINDOW || j < C::SINKS);
          if (C::LAYOUT_BLOCK > 0 && visible)
            visible = kept(i / C::LAYOUT_BLOCK, j / C::LAYOUT_BLOCK);
          if (C::MASK != 0 && visible) {
            long long mi = b * cfg.MB + h * cfg.MH + i * cfg.MS + j * cfg.ML;
            if (C::MASK == 1) visible = ds_load(mask, mi);
            else x += ds_load(mask, mi);
          }
          if (!visible) x = -DS_INF;
        }
        s[nt][e] = x;
        tileMax[e >> 1] = fmaxf(tileMax[e >> 1], x);
      }

    // Online softmax: the quad's lanes hold one row between them.
    float corr[2], rowSum[2] = {0.f, 0.f};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tileMax[r] = fmaxf(tileMax[r], __shfl_xor_sync(0xffffffffu, tileMax[r], 1));
      tileMax[r] = fmaxf(tileMax[r], __shfl_xor_sync(0xffffffffu, tileMax[r], 2));
      const float mNew = fmaxf(mRow[r], tileMax[r]);
      corr[r] = mRow[r] == -DS_INF ? 0.f : __expf(mRow[r] - mNew);
      mRow[r] = mNew;
    }
#pragma unroll
    for (int nt = 0; nt < BK / 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float p = s[nt][e] == -DS_INF ? 0.f : __expf(s[nt][e] - mRow[e >> 1]);
        s[nt][e] = p;
        rowSum[e >> 1] += p;
      }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 1);
      rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 2);
      lRow[r] = lRow[r] * corr[r] + rowSum[r];
    }
#pragma unroll
    for (int dn = 0; dn < DV / 8; ++dn) {
      o[dn][0] *= corr[0];
      o[dn][1] *= corr[0];
      o[dn][2] *= corr[1];
      o[dn][3] *= corr[1];
    }

    // O += P V: P's accumulators are already A's layout (keys 16 kk ..);
    // B[key][n] = V[key][n]: a transposing ldmatrix gives the B fragments of
    // value columns dn and dn + 1 (matrices (keys 0-7 | 8-15) x (columns)).
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      const unsigned pa[4] = {ds_pack2<T>(s[2 * kk][0], s[2 * kk][1]),
                              ds_pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                              ds_pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              ds_pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dn = 0; dn < DV / 8; dn += 2) {
        unsigned vb[4];
        ds_ldmatrix_x4<true>(vb, Vt + (kk * 16 + mi % 2 * 8 + mr) * LDV + (dn + mi / 2) * 8);
        const unsigned b0[2] = {vb[0], vb[1]}, b1[2] = {vb[2], vb[3]};
        ds_mma16816<T>(o[dn], pa, b0);
        ds_mma16816<T>(o[dn + 1], pa, b1);
      }
    }
  }

  // No copy may still be landing in shared memory when the block exits (with
  // no visible key at all, the Q tile's copy was never waited for).
  ds_cp_async_wait_all();

  // Normalize and store; rows that saw no key give 0.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int i = row0 + wr + g + 8 * r;
    if (i >= cfg.S) continue;
    const float inv = lRow[r] > 0.f ? 1.f / lRow[r] : 0.f;
    T *orow = out + (((long long)b * C::HQ + h) * cfg.S + i) * DV;
#pragma unroll
    for (int dn = 0; dn < DV / 8; ++dn) {
      ds_store(orow, dn * 8 + 2 * t, o[dn][2 * r] * inv);
      ds_store(orow, dn * 8 + 2 * t + 1, o[dn][2 * r + 1] * inv);
    }
  }
}

} // namespace ds_attention
