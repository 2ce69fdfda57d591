// TopK.cuh - ds.topk: one block per slice (the R elements along the axis at
// one position of the other dims: element r of slice (o, at) is input element
// (o * R + r) * inner + at, which `load` returns in the compute type).
//
// The order is cpu/ReductionKernels.cpp's: largest (or smallest) first, NaN
// above every number, -0 equal to +0, equal values by index. Each element
// gets an unsigned key that is smaller for an element ranked earlier; with
// its index appended the pair is unique, so the k-th pair is found exactly by
// a radix select over 8-bit digits: a shared histogram per digit, counting
// only the elements whose pair agrees with the digits chosen so far, which
// stops as soon as the chosen digit's bucket holds exactly the elements still
// needed (at the latest when every index digit is fixed). The k selected
// indices are gathered into the indices result, sorted in place by a bitonic
// network whose comparators all point one way (so k need not be a power of
// two: the missing tail acts as +infinity and never moves), and the values
// are stored from the input through the compute type (exact for every type
// the CPU's topk takes).
//
// Cost per slice: R loads per digit pass (at most KEY_BITS / 8 + 4 passes,
// usually KEY_BITS / 8 or fewer), then O(k log^2 k) comparisons.
// Indices must fit in 32 bits (the emitter refuses longer static axes).

#ifndef DS_BLOCK_SHARED
#define DS_BLOCK_SHARED __shared__ // the host emulation makes these static
#endif

// Keys in ascending order of the value; NaN above +infinity.
__device__ __forceinline__ unsigned long long ds_topk_order(float v) {
  if (v != v) return 0xffffffffull;
  const unsigned u = __float_as_uint(v == 0.0f ? 0.0f : v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ unsigned long long ds_topk_order(double v) {
  if (v != v) return ~0ull;
  const unsigned long long u = (unsigned long long)__double_as_longlong(v == 0.0 ? 0.0 : v);
  return (u >> 63) ? ~u : (u | (1ull << 63));
}
__device__ __forceinline__ unsigned long long ds_topk_order(int v) { return (unsigned)v ^ 0x80000000u; }
__device__ __forceinline__ unsigned long long ds_topk_order(unsigned v) { return v; }
__device__ __forceinline__ unsigned long long ds_topk_order(bool v) { return v ? 1u : 0u; }
__device__ __forceinline__ unsigned long long ds_topk_order(long long v) {
  return (unsigned long long)v ^ (1ull << 63);
}
__device__ __forceinline__ unsigned long long ds_topk_order(unsigned long long v) { return v; }

// The pair's top `bits` bits (key digits, then index digits) against a prefix:
// -1 below, 0 equal, 1 above.
template <int KEY_BITS>
__device__ __forceinline__ int ds_topk_compare_prefix(unsigned long long key, unsigned long long index,
                                                      int bits, unsigned long long keyPrefix,
                                                      unsigned long long indexPrefix) {
  const int keyBits = bits < KEY_BITS ? bits : KEY_BITS;
  if (keyBits > 0) {
    const unsigned long long a = key >> (KEY_BITS - keyBits);
    if (a != keyPrefix) return a < keyPrefix ? -1 : 1;
  }
  const int indexBits = bits - KEY_BITS;
  if (indexBits > 0) {
    const unsigned long long a = index >> (32 - indexBits);
    if (a != indexPrefix) return a < indexPrefix ? -1 : 1;
  }
  return 0;
}

// `indices` is also the scratch of the selection and the sort.
template <int KEY_BITS, typename Load, typename T, typename I>
__device__ void ds_topk_slice(Load load, T *values, I *indices, long long R, long long K,
                              long long inner, bool largest) {
  DS_BLOCK_SHARED unsigned hist[256];
  DS_BLOCK_SHARED unsigned long long keyPrefix, indexPrefix;
  DS_BLOCK_SHARED long long need; // elements still to take among those matching the prefix
  DS_BLOCK_SHARED int fixedBits, done;
  DS_BLOCK_SHARED unsigned taken;
  if (K <= 0) return;
  const long long o = blockIdx.x / inner, at = blockIdx.x % inner;
  const long long first = o * R * inner + at;
  const long long out = o * K * inner + at;
  const unsigned long long mask = KEY_BITS == 64 ? ~0ull : (1ull << KEY_BITS) - 1;
  auto keyOf = [&](long long r) -> unsigned long long {
    const unsigned long long t = ds_topk_order(load(first + r * inner));
    return largest ? ~t & mask : t;
  };

  // 1. The k-th pair's digits.
  if (threadIdx.x == 0) {
    keyPrefix = indexPrefix = 0;
    fixedBits = 0;
    need = K;
    done = 0;
  }
  __syncthreads();
  for (;;) {
    for (int d = threadIdx.x; d < 256; d += blockDim.x) hist[d] = 0;
    __syncthreads();
    const int f = fixedBits;
    const unsigned long long kp = keyPrefix, ip = indexPrefix;
    for (long long r = threadIdx.x; r < R; r += blockDim.x) {
      const unsigned long long key = keyOf(r);
      if (ds_topk_compare_prefix<KEY_BITS>(key, (unsigned long long)r, f, kp, ip) != 0) continue;
      const unsigned digit = f < KEY_BITS ? (unsigned)(key >> (KEY_BITS - f - 8)) & 255u
                                          : (unsigned)((unsigned long long)r >> (24 - (f - KEY_BITS))) & 255u;
      atomicAdd(&hist[digit], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      long long below = 0;
      int d = 0;
      for (; d < 255 && below + (long long)hist[d] < need; ++d) below += hist[d];
      need -= below;
      if (f < KEY_BITS) keyPrefix = keyPrefix << 8 | (unsigned)d;
      else indexPrefix = indexPrefix << 8 | (unsigned)d;
      fixedBits = f + 8;
      done = (long long)hist[d] == need;
      taken = 0;
    }
    __syncthreads();
    if (done) break;
  }

  // 2. Exactly K pairs are at or below the prefix: their indices, in any order.
  const int bits = fixedBits;
  const unsigned long long kp = keyPrefix, ip = indexPrefix;
  for (long long r = threadIdx.x; r < R; r += blockDim.x)
    if (ds_topk_compare_prefix<KEY_BITS>(keyOf(r), (unsigned long long)r, bits, kp, ip) <= 0)
      ds_store(indices, out + (long long)atomicAdd(&taken, 1u) * inner, (long long)r);
  __syncthreads();

  // 3. Bitonic sort of the K indices by (key, index).
  auto slot = [&](long long j) { return out + j * inner; };
  auto orderSlots = [&](long long i, long long j) {
    const long long a = (long long)ds_load(indices, slot(i)), b = (long long)ds_load(indices, slot(j));
    const unsigned long long ka = keyOf(a), kb = keyOf(b);
    if (kb < ka || (kb == ka && b < a)) {
      ds_store(indices, slot(i), b);
      ds_store(indices, slot(j), a);
    }
  };
  long long P = 1;
  while (P < K) P <<= 1;
  for (long long size = 2; size <= P; size <<= 1) {
    const long long half = size >> 1;
    for (long long t = threadIdx.x; t < P / 2; t += blockDim.x) {
      const long long base = t / half * size, m = t % half;
      if (base + size - 1 - m < K) orderSlots(base + m, base + size - 1 - m);
    }
    __syncthreads();
    for (long long d = half >> 1; d > 0; d >>= 1) {
      for (long long t = threadIdx.x; t < P / 2; t += blockDim.x) {
        const long long i = t / d * 2 * d + t % d;
        if (i + d < K) orderSlots(i, i + d);
      }
      __syncthreads();
    }
  }

  // 4. The values.
  for (long long j = threadIdx.x; j < K; j += blockDim.x)
    ds_store(values, slot(j), load(first + (long long)ds_load(indices, slot(j)) * inner));
}
