// Prelude.cuh - helpers shared by every kernel that lib/Target/CUDA emits.
//
// Embedded verbatim at the top of the generated source (see EmbedKernels.cmake),
// compiled by NVRTC. Conventions of the generated code:
//   - data is loaded and stored in its own type (float, __half, __nv_bfloat16,
//     bool, int, long long, ...) and computed in float (floats) or the integer
//     type itself: ds_load() converts, ds_store() converts back;
//   - every buffer starts 16-byte aligned (arena and constants are 64-byte
//     aligned), so ds_vec<T, N> loads of N consecutive elements whose first
//     index is a multiple of N are aligned.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define DS_INF __int_as_float(0x7f800000)

// ---- loads and stores in the storage type, values in the compute type ----
__device__ __forceinline__ float ds_load(const float *p, long long i) { return p[i]; }
__device__ __forceinline__ float ds_load(const __half *p, long long i) { return __half2float(p[i]); }
__device__ __forceinline__ float ds_load(const __nv_bfloat16 *p, long long i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ bool ds_load(const bool *p, long long i) { return p[i]; }
__device__ __forceinline__ int ds_load(const signed char *p, long long i) { return p[i]; }
__device__ __forceinline__ int ds_load(const unsigned char *p, long long i) { return p[i]; }
__device__ __forceinline__ int ds_load(const short *p, long long i) { return p[i]; }
__device__ __forceinline__ int ds_load(const unsigned short *p, long long i) { return p[i]; }
__device__ __forceinline__ int ds_load(const int *p, long long i) { return p[i]; }
__device__ __forceinline__ unsigned ds_load(const unsigned *p, long long i) { return p[i]; }
__device__ __forceinline__ long long ds_load(const long long *p, long long i) { return p[i]; }

__device__ __forceinline__ void ds_store(float *p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void ds_store(__half *p, long long i, float v) { p[i] = __float2half_rn(v); }
__device__ __forceinline__ void ds_store(__nv_bfloat16 *p, long long i, float v) { p[i] = __float2bfloat16_rn(v); }
__device__ __forceinline__ void ds_store(bool *p, long long i, bool v) { p[i] = v; }
__device__ __forceinline__ void ds_store(signed char *p, long long i, int v) { p[i] = (signed char)v; }
__device__ __forceinline__ void ds_store(unsigned char *p, long long i, int v) { p[i] = (unsigned char)v; }
__device__ __forceinline__ void ds_store(short *p, long long i, int v) { p[i] = (short)v; }
__device__ __forceinline__ void ds_store(unsigned short *p, long long i, int v) { p[i] = (unsigned short)v; }
__device__ __forceinline__ void ds_store(int *p, long long i, int v) { p[i] = v; }
__device__ __forceinline__ void ds_store(unsigned *p, long long i, unsigned v) { p[i] = v; }
__device__ __forceinline__ void ds_store(long long *p, long long i, long long v) { p[i] = v; }

// Rounding of a float to what a narrower float type can hold (ds.cast).
__device__ __forceinline__ float ds_round_f16(float x) { return __half2float(__float2half_rn(x)); }
__device__ __forceinline__ float ds_round_bf16(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }

// ---- vector access: N consecutive elements in one aligned transaction ----
template <typename T, int N> struct __align__(sizeof(T) * N) ds_vec { T v[N]; };

template <int N, typename T, typename C>
__device__ __forceinline__ void ds_load_vec(const T *p, long long i, C (&out)[N]) {
  ds_vec<T, N> v = *reinterpret_cast<const ds_vec<T, N> *>(p + i);
#pragma unroll
  for (int k = 0; k < N; ++k)
    out[k] = ds_load(v.v, k);
}

template <int N, typename T, typename C>
__device__ __forceinline__ void ds_store_vec(T *p, long long i, const C (&in)[N]) {
  ds_vec<T, N> v;
#pragma unroll
  for (int k = 0; k < N; ++k)
    ds_store(v.v, k, in[k]);
  *reinterpret_cast<ds_vec<T, N> *>(p + i) = v;
}

// ---- elementwise functions (float), same formulas as the CPU kernels ----
__device__ __forceinline__ float ds_sigmoid(float x) {
  if (x >= 0.f) return 1.f / (1.f + __expf(-x));
  float e = __expf(x);
  return e / (1.f + e);
}
__device__ __forceinline__ float ds_relu(float x) { return x > 0.f ? x : (x == x ? 0.f : x); }
__device__ __forceinline__ float ds_softplus(float x) { return x > 0.f ? x + log1pf(__expf(-x)) : log1pf(__expf(x)); }
__device__ __forceinline__ float ds_gelu(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float ds_gelu_tanh(float x) {
  return 0.5f * x * (1.f + tanhf(0.79788456080286535f * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float ds_hard_sigmoid(float x, float a, float b) { return fmaxf(0.f, fminf(1.f, a * x + b)); }
__device__ __forceinline__ float ds_hard_swish(float x) { return x * fmaxf(0.f, fminf(1.f, x * (1.f / 6.f) + 0.5f)); }
__device__ __forceinline__ float ds_elu(float x, float a) { return x < 0.f ? a * expm1f(x) : x; }
__device__ __forceinline__ float ds_selu(float x, float a, float g) { return x > 0.f ? g * x : g * (a * __expf(x) - a); }
__device__ __forceinline__ float ds_celu(float x, float a) { return fmaxf(0.f, x) + fminf(0.f, a * expm1f(x / a)); }
__device__ __forceinline__ float ds_mish(float x) { return x * tanhf(ds_softplus(x)); }
__device__ __forceinline__ float ds_sign(float x) { return x > 0.f ? 1.f : (x < 0.f ? -1.f : x); }
__device__ __forceinline__ float ds_shrink(float x, float l, float b) { return x < -l ? x + b : (x > l ? x - b : 0.f); }
// Python-style modulo (sign of the divisor), as ONNX Mod with fmod = 0.
__device__ __forceinline__ float ds_mod(float a, float b) {
  float r = fmodf(a, b);
  return (r != 0.f && ((r < 0.f) != (b < 0.f))) ? r + b : r;
}
__device__ __forceinline__ long long ds_mod(long long a, long long b) {
  long long r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
// Narrower integers compute as int (computeType): one overload each, or the
// call would be ambiguous between float and long long.
__device__ __forceinline__ int ds_mod(int a, int b) { return (int)ds_mod((long long)a, (long long)b); }
__device__ __forceinline__ unsigned ds_mod(unsigned a, unsigned b) { return a % b; }

// ---- reductions across a block (fp32), result in every thread ----
// Each block-wide reduction ends with a barrier, so the static scratch can be
// reused by the next one.
__device__ __forceinline__ float ds_warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float ds_warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float ds_warp_min(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float ds_warp_prod(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v *= __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// kind: 0 sum, 1 max, 2 min, 3 prod. blockDim.x is a multiple of 32.
template <int KIND> __device__ __forceinline__ float ds_warp_reduce(float v) {
  if (KIND == 0) return ds_warp_sum(v);
  if (KIND == 1) return ds_warp_max(v);
  if (KIND == 2) return ds_warp_min(v);
  return ds_warp_prod(v);
}
template <int KIND> __device__ float ds_block_reduce(float v) {
  __shared__ float scratch[32];
  v = ds_warp_reduce<KIND>(v);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  if (warps == 1) return v;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float identity = KIND == 0 ? 0.f : (KIND == 1 ? -DS_INF : (KIND == 2 ? DS_INF : 1.f));
  v = lane < warps ? scratch[lane] : identity;
  v = ds_warp_reduce<KIND>(v);
  __syncthreads();
  return v;
}
