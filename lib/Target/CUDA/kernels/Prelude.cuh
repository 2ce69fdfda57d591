// Prelude.cuh - helpers shared by every kernel that lib/Target/CUDA emits.
//
// Embedded verbatim at the top of the generated source (see EmbedKernels.cmake),
// compiled by NVRTC. Conventions of the generated code:
//   - data is loaded and stored in its own type (float, __half, __nv_bfloat16,
//     bool, int, long long, ...) and computed in float (floats but f64), double
//     (f64) or the integer type itself: ds_load() converts, ds_store() converts
//     back;
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
__device__ __forceinline__ unsigned long long ds_load(const unsigned long long *p, long long i) { return p[i]; }
__device__ __forceinline__ double ds_load(const double *p, long long i) { return p[i]; }

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
__device__ __forceinline__ void ds_store(unsigned long long *p, long long i, unsigned long long v) { p[i] = v; }
__device__ __forceinline__ void ds_store(double *p, long long i, double v) { p[i] = v; }

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

// ---- elementwise functions, same formulas as the CPU kernels ----
// Templates over the compute type (float, or double for f64 data); ds_exp is
// the fast exponential in float.
__device__ __forceinline__ float ds_exp(float x) { return __expf(x); }
__device__ __forceinline__ double ds_exp(double x) { return exp(x); }
template <typename T> __device__ __forceinline__ T ds_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + ds_exp(-x));
  T e = ds_exp(x);
  return e / (T(1) + e);
}
template <typename T> __device__ __forceinline__ T ds_relu(T x) { return x > T(0) ? x : (x == x ? T(0) : x); }
template <typename T> __device__ __forceinline__ T ds_softplus(T x) { return x > T(0) ? x + log1p(ds_exp(-x)) : log1p(ds_exp(x)); }
template <typename T> __device__ __forceinline__ T ds_gelu(T x) { return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752))); }
template <typename T> __device__ __forceinline__ T ds_gelu_tanh(T x) {
  return T(0.5) * x * (T(1) + tanh(T(0.79788456080286535) * (x + T(0.044715) * x * x * x)));
}
template <typename T> __device__ __forceinline__ T ds_hard_sigmoid(T x, T a, T b) { return fmax(T(0), fmin(T(1), a * x + b)); }
template <typename T> __device__ __forceinline__ T ds_hard_swish(T x) { return x * fmax(T(0), fmin(T(1), x * (T(1) / T(6)) + T(0.5))); }
template <typename T> __device__ __forceinline__ T ds_elu(T x, T a) { return x < T(0) ? a * expm1(x) : x; }
template <typename T> __device__ __forceinline__ T ds_selu(T x, T a, T g) { return x > T(0) ? g * x : g * (a * ds_exp(x) - a); }
template <typename T> __device__ __forceinline__ T ds_celu(T x, T a) { return fmax(T(0), x) + fmin(T(0), a * expm1(x / a)); }
template <typename T> __device__ __forceinline__ T ds_mish(T x) { return x * tanh(ds_softplus(x)); }
template <typename T> __device__ __forceinline__ T ds_sign(T x) { return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x); }
template <typename T> __device__ __forceinline__ T ds_shrink(T x, T l, T b) { return x < -l ? x + b : (x > l ? x - b : T(0)); }
// Python-style modulo (sign of the divisor), as ONNX Mod with fmod = 0.
__device__ __forceinline__ float ds_mod(float a, float b) {
  float r = fmodf(a, b);
  return (r != 0.f && ((r < 0.f) != (b < 0.f))) ? r + b : r;
}
__device__ __forceinline__ double ds_mod(double a, double b) {
  double r = fmod(a, b);
  return (r != 0.0 && ((r < 0.0) != (b < 0.0))) ? r + b : r;
}
__device__ __forceinline__ long long ds_mod(long long a, long long b) {
  long long r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
// Narrower integers compute as int (computeType): one overload each, or the
// call would be ambiguous between float and long long.
__device__ __forceinline__ int ds_mod(int a, int b) { return (int)ds_mod((long long)a, (long long)b); }
__device__ __forceinline__ unsigned ds_mod(unsigned a, unsigned b) { return a % b; }
__device__ __forceinline__ unsigned long long ds_mod(unsigned long long a, unsigned long long b) { return a % b; }

// ---- sub-byte integers (i4, ui4, i2, ui2): one per byte, as the runtime
// stores them; a store wraps to the type's bits (sign-extended for i4 / i2),
// as the CPU backend's storeInt ----
struct ds_i4 { signed char v; };
struct ds_u4 { unsigned char v; };
struct ds_i2 { signed char v; };
struct ds_u2 { unsigned char v; };
__device__ __forceinline__ int ds_load(const ds_i4 *p, long long i) { return p[i].v; }
__device__ __forceinline__ int ds_load(const ds_u4 *p, long long i) { return p[i].v; }
__device__ __forceinline__ int ds_load(const ds_i2 *p, long long i) { return p[i].v; }
__device__ __forceinline__ int ds_load(const ds_u2 *p, long long i) { return p[i].v; }
__device__ __forceinline__ int ds_wrap_i4(long long v) { return (int)(((v & 0xf) ^ 0x8) - 0x8); }
__device__ __forceinline__ int ds_wrap_u4(long long v) { return (int)(v & 0xf); }
__device__ __forceinline__ int ds_wrap_i2(long long v) { return (int)(((v & 0x3) ^ 0x2) - 0x2); }
__device__ __forceinline__ int ds_wrap_u2(long long v) { return (int)(v & 0x3); }
__device__ __forceinline__ void ds_store(ds_i4 *p, long long i, int v) { p[i].v = (signed char)ds_wrap_i4(v); }
__device__ __forceinline__ void ds_store(ds_u4 *p, long long i, int v) { p[i].v = (unsigned char)ds_wrap_u4(v); }
__device__ __forceinline__ void ds_store(ds_i2 *p, long long i, int v) { p[i].v = (signed char)ds_wrap_i2(v); }
__device__ __forceinline__ void ds_store(ds_u2 *p, long long i, int v) { p[i].v = (unsigned char)ds_wrap_u2(v); }

// ---- float8 (E4M3FN, E5M2, E4M3FNUZ, E5M2FNUZ): one byte each, computed
// in float through Float8Codec.h (embedded before this file) ----
struct ds_f8e4m3fn { unsigned char v; };
struct ds_f8e5m2 { unsigned char v; };
struct ds_f8e4m3fnuz { unsigned char v; };
struct ds_f8e5m2fnuz { unsigned char v; };
__device__ __forceinline__ float ds_f8_to_float(unsigned char v, int kind) { return __uint_as_float(ds_f8_decode(v, kind)); }
__device__ __forceinline__ unsigned char ds_float_to_f8(float x, int kind, bool saturate) {
  return ds_f8_encode(__float_as_uint(x), kind, saturate);
}
// x rounded to what format `kind` holds (ds.cast, ds.quantize): the stores
// below then write it exactly, an overflow's inf or NaN included.
__device__ __forceinline__ float ds_round_f8(float x, int kind, bool saturate) {
  return ds_f8_to_float(ds_float_to_f8(x, kind, saturate), kind);
}
__device__ __forceinline__ float ds_load(const ds_f8e4m3fn *p, long long i) { return ds_f8_to_float(p[i].v, 0); }
__device__ __forceinline__ float ds_load(const ds_f8e5m2 *p, long long i) { return ds_f8_to_float(p[i].v, 1); }
__device__ __forceinline__ float ds_load(const ds_f8e4m3fnuz *p, long long i) { return ds_f8_to_float(p[i].v, 2); }
__device__ __forceinline__ float ds_load(const ds_f8e5m2fnuz *p, long long i) { return ds_f8_to_float(p[i].v, 3); }
__device__ __forceinline__ void ds_store(ds_f8e4m3fn *p, long long i, float v) { p[i].v = ds_float_to_f8(v, 0, false); }
__device__ __forceinline__ void ds_store(ds_f8e5m2 *p, long long i, float v) { p[i].v = ds_float_to_f8(v, 1, false); }
__device__ __forceinline__ void ds_store(ds_f8e4m3fnuz *p, long long i, float v) { p[i].v = ds_float_to_f8(v, 2, false); }
__device__ __forceinline__ void ds_store(ds_f8e5m2fnuz *p, long long i, float v) { p[i].v = ds_float_to_f8(v, 3, false); }

// ---- ds.resize: the formulas of cpu/ResizeKernel.cpp ----
// coordinate mode: 0 half_pixel, 1 half_pixel_symmetric, 2 pytorch_half_pixel,
// 3 align_corners, 4 asymmetric, 5 tf_crop_and_resize (single precision, as
// onnxruntime computes them).
__device__ __forceinline__ float ds_resize_coord(int mode, float x, float scale, float outLen,
                                                 float inLen, float roiStart, float roiEnd) {
  switch (mode) {
  case 1: {
    float adjustment = outLen / (scale * inLen);
    float offset = inLen / 2 * (1 - adjustment);
    return offset + (x + 0.5f) / scale - 0.5f;
  }
  case 2: return outLen > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
  case 3: return outLen == 1 ? 0.0f : x * (inLen - 1) / (outLen - 1);
  case 4: return x / scale;
  case 5:
    return outLen > 1 ? roiStart * (inLen - 1) + (x * (roiEnd - roiStart) * (inLen - 1)) / (outLen - 1)
                      : 0.5f * (roiStart + roiEnd) * (inLen - 1);
  default: return (x + 0.5f) / scale - 0.5f;
  }
}
// nearest mode: 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil.
__device__ __forceinline__ long long ds_resize_nearest(int mode, float xo, long long inLen) {
  const float f = floorf(xo);
  long long n = mode == 0 ? (xo == f + 0.5f ? (long long)f : (long long)roundf(xo))
              : mode == 1 ? (long long)roundf(xo)
              : mode == 2 ? (long long)f
                          : (long long)ceilf(xo);
  return n < 0 ? 0 : (n > inLen - 1 ? inLen - 1 : n);
}
// Weight of tap i (base + i, base = ceil(xo) - 1) and its clamped index.
__device__ __forceinline__ double ds_resize_tap(bool cubic, long long i, float xo, double kernelScale,
                                                double a, bool excludeOutside, long long inLen,
                                                long long &index) {
  const double base = ceil((double)xo) - 1, ratio = (double)xo - base;
  const double dist = fabs(((double)i - ratio) * kernelScale);
  double w;
  if (!cubic) w = dist < 1.0 ? 1.0 - dist : 0.0;
  else if (dist <= 1.0) w = ((a + 2) * dist - (a + 3)) * dist * dist + 1;
  else if (dist < 2.0) w = ((a * dist - 5 * a) * dist + 8 * a) * dist - 4 * a;
  else w = 0.0;
  const long long at = (long long)base + i;
  if (excludeOutside && (at < 0 || at >= inLen)) w = 0.0;
  index = at < 0 ? 0 : (at > inLen - 1 ? inLen - 1 : at);
  return w;
}

// ---- reductions across a block, result in every thread ----
// Over float, double (fmax / fmin: a NaN loses, as in the CPU kernels) or the
// 64-bit integers that integer reductions accumulate in (sums wrap in
// unsigned long long). Each block-wide reduction ends with a barrier, so the
// static scratch can be reused by the next one.
__device__ __forceinline__ float ds_max(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ double ds_max(double a, double b) { return fmax(a, b); }
__device__ __forceinline__ long long ds_max(long long a, long long b) { return a > b ? a : b; }
__device__ __forceinline__ unsigned long long ds_max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
__device__ __forceinline__ float ds_min(float a, float b) { return fminf(a, b); }
__device__ __forceinline__ double ds_min(double a, double b) { return fmin(a, b); }
__device__ __forceinline__ long long ds_min(long long a, long long b) { return a < b ? a : b; }
__device__ __forceinline__ unsigned long long ds_min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
template <typename T> __device__ __forceinline__ T ds_warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename T> __device__ __forceinline__ T ds_warp_max(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = ds_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <typename T> __device__ __forceinline__ T ds_warp_min(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = ds_min(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <typename T> __device__ __forceinline__ T ds_warp_prod(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v *= __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// kind: 0 sum, 1 max, 2 min, 3 prod. blockDim.x is a multiple of 32.
template <int KIND, typename T> __device__ __forceinline__ T ds_warp_reduce(T v) {
  if (KIND == 0) return ds_warp_sum(v);
  if (KIND == 1) return ds_warp_max(v);
  if (KIND == 2) return ds_warp_min(v);
  return ds_warp_prod(v);
}
template <int KIND, typename T> __device__ T ds_block_reduce(T v) {
  __shared__ T scratch[32];
  v = ds_warp_reduce<KIND>(v);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  if (warps == 1) return v;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  // Lanes past the warps: the sum's and product's identity; max and min take
  // warp 0's value again (no infinity an integer type could not hold).
  v = lane < warps ? scratch[lane] : (KIND == 0 ? T(0) : (KIND == 3 ? T(1) : scratch[0]));
  v = ds_warp_reduce<KIND>(v);
  __syncthreads();
  return v;
}
