#!/usr/bin/env python3
"""Runs a cuda artifact's steps on the CPU to check the emitted kernels without a GPU.

The CUDA source that ds-compile dumps (--dump-cuda) is compiled as host C++
with a small shim: a kernel runs block by block; kernels that synchronize
(block reductions, the FMA flash-attention kernel) run each block with one
OS thread per CUDA thread, __syncthreads / __syncwarp as barriers and warp
shuffles through an exchange buffer. cuda.gemm runs in numpy, cuda.alias is a
view. The attention kernel's mma.sync fragments are emulated lane by lane
(PTX's layouts), cp.async as a plain copy.

  cuda_host_emulate.py model.onnx --ds-compile DIR/ds-compile --ds-run DIR/ds-run

compiles the model for cpu and cuda, runs both on the same random inputs (or
the ones --inputs names; --bind binds inputs at compile time; --shape gives
the dims of an input with dynamic dims, whose kernels then take the sizes as
parameters, as on a GPU) and compares the
outputs (exit status 1 on a mismatch): NaN only where the CPU backend
has NaN, an infinity only where it has the same one, finite values within
atol + rtol * |cpu|. --poison-outputs nan replaces the emulated outputs with NaN
before the comparison, to show that the check fails on a wrong result.
"""
import argparse
import ctypes
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PRELUDE = os.path.join(HERE, "..", "lib", "Target", "CUDA", "kernels", "Prelude.cuh")
FLOAT8_CODEC = os.path.join(HERE, "..", "lib", "Runtime", "core", "Float8Codec.h")
ATTENTION = os.path.join(HERE, "..", "lib", "Target", "CUDA", "kernels", "FlashAttention.cuh")
TOPK = os.path.join(HERE, "..", "lib", "Target", "CUDA", "kernels", "TopK.cuh")
SPARSE_ATTENTION = os.path.join(HERE, "..", "lib", "Target", "CUDA", "kernels",
                                "SparseAttention.cuh")
BLOCK_SELECT_ATTENTION = os.path.join(HERE, "..", "lib", "Target", "CUDA", "kernels",
                                      "BlockSelectAttention.cuh")

HOST_SHIM = r"""
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <algorithm>
#include <type_traits>
#include <barrier>
#include <memory>
#include <thread>
#include <vector>
struct ds_dim3 { unsigned x = 0, y = 0, z = 0; };
static thread_local ds_dim3 threadIdx;
static ds_dim3 blockIdx, blockDim, gridDim;
#define DS_HOST_EMULATION 1
// Barriers of the block being run and its warps; shuffles exchange values.
static std::unique_ptr<std::barrier<>> ds_block_barrier;
static std::vector<std::unique_ptr<std::barrier<>>> ds_warp_barriers;
static unsigned char ds_exchange[1024][8]; // any shuffled type, bit for bit
static inline void __syncthreads() { ds_block_barrier->arrive_and_wait(); }
static inline void __syncwarp(unsigned = 0xffffffffu) { ds_warp_barriers[threadIdx.x / 32]->arrive_and_wait(); }
template <typename T> static inline T __shfl_sync(unsigned, T v, int src) {
  memcpy(ds_exchange[threadIdx.x], &v, sizeof(T));
  __syncwarp();
  T r;
  memcpy(&r, ds_exchange[threadIdx.x / 32 * 32 + (src & 31)], sizeof(T));
  __syncwarp();
  return r;
}
template <typename T> static inline T __shfl_xor_sync(unsigned m, T v, int o) { return __shfl_sync(m, v, (threadIdx.x & 31) ^ o); }
#define __shared__
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __restrict__
#define __align__(n) __attribute__((aligned(n)))
#define DS_INF INFINITY
#define __expf expf
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned i; memcpy(&i, &f, 4); return i; }
static inline long long __double_as_longlong(double d) { long long i; memcpy(&i, &d, 8); return i; }
static inline unsigned atomicAdd(unsigned *p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
#define DS_BLOCK_SHARED static // block-shared: the block's OS threads see one copy
using std::min; using std::max;
// fp16 through the compiler's _Float16, bf16 as the high half of a float.
struct __half { _Float16 v; };
struct __nv_bfloat16 { uint16_t bits; };
static inline float bf16_to_float(uint16_t b) { uint32_t u = (uint32_t)b << 16; float f; memcpy(&f, &u, 4); return f; }
static inline uint16_t float_to_bf16(float f) {
  uint32_t u; memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16); // round to nearest even
}
static inline float ds_load(const __half *p, long long i) { return (float)p[i].v; }
static inline float ds_load(const __nv_bfloat16 *p, long long i) { return bf16_to_float(p[i].bits); }
static inline void ds_store(__half *p, long long i, float v) { p[i].v = (_Float16)v; }
static inline void ds_store(__nv_bfloat16 *p, long long i, float v) { p[i].bits = float_to_bf16(v); }
static inline float ds_round_f16(float x) { return (float)(_Float16)x; }
static inline float ds_round_bf16(float x) { return bf16_to_float(float_to_bf16(x)); }
static inline float ds_load(const float *p, long long i) { return p[i]; }
static inline bool ds_load(const bool *p, long long i) { return p[i]; }
static inline int ds_load(const signed char *p, long long i) { return p[i]; }
static inline int ds_load(const unsigned char *p, long long i) { return p[i]; }
static inline int ds_load(const short *p, long long i) { return p[i]; }
static inline int ds_load(const unsigned short *p, long long i) { return p[i]; }
static inline unsigned ds_load(const unsigned *p, long long i) { return p[i]; }
static inline int ds_load(const int *p, long long i) { return p[i]; }
static inline long long ds_load(const long long *p, long long i) { return p[i]; }
static inline unsigned long long ds_load(const unsigned long long *p, long long i) { return p[i]; }
static inline double ds_load(const double *p, long long i) { return p[i]; }
static inline void ds_store(float *p, long long i, float v) { p[i] = v; }
static inline void ds_store(bool *p, long long i, bool v) { p[i] = v; }
static inline void ds_store(signed char *p, long long i, int v) { p[i] = (signed char)v; }
static inline void ds_store(unsigned char *p, long long i, int v) { p[i] = (unsigned char)v; }
static inline void ds_store(short *p, long long i, int v) { p[i] = (short)v; }
static inline void ds_store(unsigned short *p, long long i, int v) { p[i] = (unsigned short)v; }
static inline void ds_store(unsigned *p, long long i, unsigned v) { p[i] = v; }
static inline void ds_store(int *p, long long i, int v) { p[i] = v; }
static inline void ds_store(long long *p, long long i, long long v) { p[i] = v; }
static inline void ds_store(unsigned long long *p, long long i, unsigned long long v) { p[i] = v; }
static inline void ds_store(double *p, long long i, double v) { p[i] = v; }
template <typename T, int N> struct ds_vec { T v[N]; };
template <int N, typename T, typename C> inline void ds_load_vec(const T *p, long long i, C (&out)[N]) {
  for (int k = 0; k < N; ++k) out[k] = ds_load(p, i + k);
}
template <int N, typename T, typename C> inline void ds_store_vec(T *p, long long i, const C (&in)[N]) {
  for (int k = 0; k < N; ++k) ds_store(p, i + k, in[k]);
}
static inline __half __float2half_rn(float v) { __half h; h.v = (_Float16)v; return h; }
static inline __nv_bfloat16 __float2bfloat16_rn(float v) { __nv_bfloat16 b; b.bits = float_to_bf16(v); return b; }
namespace ds_attention {
alignas(128) float smem[1 << 17];
alignas(128) unsigned char ds_attn_smem[1 << 19];
}
// WMMA on 16x16x16 tiles: every lane holds the whole tile (in float), lane 0
// stores it; products accumulate in float as on tensor cores.
namespace nvcuda { namespace wmma {
struct matrix_a {}; struct matrix_b {}; struct accumulator {};
struct row_major {}; struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment { float x[256]; };
template <typename F> inline void fill_fragment(F &f, float v) { for (float &e : f.x) e = v; }
template <typename Use, typename T, typename L>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, T, L> &f, const T *p, unsigned ld) {
  bool col = std::is_same<L, col_major>::value;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) f.x[r * 16 + c] = ds_load(p, col ? (long long)c * ld + r : (long long)r * ld + c);
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float> &f, const float *p, unsigned ld, layout_t l) {
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) f.x[r * 16 + c] = l == mem_row_major ? p[r * ld + c] : p[c * ld + r];
}
inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, float> &f, unsigned ld, layout_t l) {
  if (threadIdx.x % 32 != 0) return;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) (l == mem_row_major ? p[r * ld + c] : p[c * ld + r]) = f.x[r * 16 + c];
}
template <typename A, typename B>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float> &d, const A &a, const B &b,
                     const fragment<accumulator, 16, 16, 16, float> &c) {
  float out[256];
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 16; ++n) {
      float acc = c.x[r * 16 + n];
      for (int k = 0; k < 16; ++k) acc += a.x[r * 16 + k] * b.x[k * 16 + n];
      out[r * 16 + n] = acc;
    }
  memcpy(d.x, out, sizeof out);
}
}} // namespace nvcuda::wmma
// FlashAttention.cuh's warp primitives. mma.sync m16n8k16 lane by lane: every
// lane deposits its fragment registers, then computes its own four outputs
// from PTX's layouts (A: row r at lane 4 (r % 8) + (k % 8) / 2, register
// (r >= 8) + 2 (k >= 8); B: column n at lane 4 n + (k % 8) / 2, register
// k >= 8; D: row g + 8 (e / 2), column 2 t + e % 2), so a wrong layout in the
// kernel gives wrong numbers here too.
static unsigned ds_mma_a[1024][4], ds_mma_b[1024][2];
static inline float ds_bits_to_float(const __half *, unsigned short b) { _Float16 h; memcpy(&h, &b, 2); return (float)h; }
static inline float ds_bits_to_float(const __nv_bfloat16 *, unsigned short b) { return bf16_to_float(b); }
template <typename T> static inline void ds_mma16816(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  const int lane = threadIdx.x & 31, base = threadIdx.x - lane, g = lane >> 2, t = lane & 3;
  memcpy(ds_mma_a[threadIdx.x], a, sizeof a);
  memcpy(ds_mma_b[threadIdx.x], b, sizeof b);
  __syncwarp();
  auto half = [](unsigned reg, int k) { return (unsigned short)(k % 2 ? reg >> 16 : reg & 0xffffu); };
  auto A = [&](int r, int k) { return ds_bits_to_float((const T *)nullptr, half(ds_mma_a[base + (r % 8) * 4 + (k % 8) / 2][(r >= 8) + 2 * (k >= 8)], k)); };
  auto B = [&](int k, int n) { return ds_bits_to_float((const T *)nullptr, half(ds_mma_b[base + n * 4 + (k % 8) / 2][k >= 8], k)); };
  float out[4];
  for (int e = 0; e < 4; ++e) {
    const int r = g + 8 * (e >> 1), n = 2 * t + (e & 1);
    float acc = d[e];
    for (int k = 0; k < 16; ++k) acc += A(r, k) * B(k, n);
    out[e] = acc;
  }
  __syncwarp();
  memcpy(d, out, sizeof out);
}
static inline void ds_cp_async16(void *dst, const void *src, bool valid) {
  if (valid) memcpy(dst, src, 16); else memset(dst, 0, 16);
}
static inline void ds_cp_async_commit() {}
static inline void ds_cp_async_wait_all() {}
// ldmatrix: lanes 8i..8i+7 give the rows of matrix i; lane l receives row
// l / 4, columns 2 (l % 4) + {0, 1} of each (TRANS: column l / 4, rows
// 2 (l % 4) + {0, 1}).
static const unsigned char *ds_ldm_rows[1024];
template <bool TRANS> static inline void ds_ldmatrix_x4(unsigned (&r)[4], const void *row) {
  const int lane = threadIdx.x & 31, base = threadIdx.x - lane;
  ds_ldm_rows[threadIdx.x] = (const unsigned char *)row;
  __syncwarp();
  for (int i = 0; i < 4; ++i) {
    unsigned short lo, hi;
    if (TRANS) {
      memcpy(&lo, ds_ldm_rows[base + i * 8 + 2 * (lane % 4)] + 2 * (lane / 4), 2);
      memcpy(&hi, ds_ldm_rows[base + i * 8 + 2 * (lane % 4) + 1] + 2 * (lane / 4), 2);
    } else {
      memcpy(&lo, ds_ldm_rows[base + i * 8 + lane / 4] + 4 * (lane % 4), 2);
      memcpy(&hi, ds_ldm_rows[base + i * 8 + lane / 4] + 4 * (lane % 4) + 2, 2);
    }
    r[i] = lo | (unsigned)hi << 16;
  }
  __syncwarp();
}
template <typename T> static inline unsigned ds_pack2(float lo, float hi) {
  T x[2];
  ds_store(x, 0, lo);
  ds_store(x, 1, hi);
  unsigned u; memcpy(&u, x, 4); return u;
}
"""


def prelude_functions():
    """The real prelude's math and block reductions (its scratch made static,
    shared by the block's threads), the attention templates and top-k."""
    text = open(PRELUDE).read()
    out = open(FLOAT8_CODEC).read() + text[text.index("// ---- elementwise functions"):]
    out = out.replace("__shared__ T scratch[32];", "static T scratch[32];")
    attention = open(ATTENTION).read()
    sparse = open(SPARSE_ATTENTION).read()
    select = open(BLOCK_SELECT_ATTENTION).read()
    return (out + attention[attention.index("namespace ds_attention {"):] +
            sparse[sparse.index("namespace ds_attention {"):] +
            select[select.index("namespace ds_attention {"):] + open(TOPK).read())


def kernel_wrappers(source):
    """A C entry point per kernel: run(grid, block, one_thread, args)."""
    out = []
    for m in re.finditer(r'extern "C" __global__ void (?:__launch_bounds__\(\d+\) )?(\w+)\(([^)]*)\)', source):
        name, params = m.group(1), [p.strip() for p in m.group(2).split(",") if p.strip()]
        casts = []
        for i, p in enumerate(params):
            if "*" not in p:  # a size parameter of a dynamic program
                casts.append("(long long)(intptr_t)args[%d]" % i)
                continue
            ptype = p.rsplit("*", 1)[0] + "*"
            casts.append("(%s)args[%d]" % (ptype.replace("__restrict__", "").strip(), i))
        call = "%s(%s)" % (name, ", ".join(casts))
        out.append("""extern "C" void run_%s(int gx, int gy, int gz, int block, int threaded, void **args) {
  blockDim.x = block; blockDim.y = blockDim.z = 1;
  gridDim.x = gx; gridDim.y = gy; gridDim.z = gz;
  for (int z = 0; z < gz; ++z) for (int y = 0; y < gy; ++y) for (int x = 0; x < gx; ++x) {
    blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
    if (!threaded) {
      for (int t = 0; t < block; ++t) { threadIdx.x = t; %s; }
      continue;
    }
    ds_block_barrier = std::make_unique<std::barrier<>>(block);
    ds_warp_barriers.clear();
    for (int w = 0; w < (block + 31) / 32; ++w) ds_warp_barriers.push_back(std::make_unique<std::barrier<>>(32));
    std::vector<std::thread> threads;
    for (int t = 0; t < block; ++t) threads.emplace_back([=] { threadIdx.x = t; %s; });
    for (auto &th : threads) th.join();
  }
}""" % (name, call, call))
    return "\n".join(out)


# ds_dtype (include/ds-runtime/ds_runtime.h) -> numpy (bf16 as its raw bits;
# graph inputs and outputs must not be bf16).
DTYPES = {1: np.float32, 2: np.float64, 3: np.float16, 4: np.uint16, 5: np.int64, 6: np.int32, 7: np.int16,
          8: np.int8, 9: np.uint64, 10: np.uint32, 11: np.uint16, 12: np.uint8, 13: np.bool_,
          # float8 as its raw bits; i4 / ui4 / i2 / ui2 one per byte, as the runtime stores them.
          14: np.uint8, 15: np.uint8, 16: np.uint8, 17: np.uint8,
          18: np.int8, 19: np.uint8, 20: np.int8, 21: np.uint8}


# Integers, bool, float8 codes and sub-byte integers: compared bit for bit.
EXACT_DTYPES = set(range(5, 22))


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return v if len(v) > 1 else v[0]

    def str(self):
        n = self.take("I")
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode()


def read_artifact(path):
    data = open(path, "rb").read()
    (_, version, _, _, _, meta_off, meta_size, const_off, const_size) = struct.unpack_from("<8sIIQQQQQQ", data)
    r = Reader(data, meta_off)
    values = []
    for _ in range(r.take("I")):
        dtype, storage, _ = r.take("BBH")
        rank = r.take("I")
        dims = [r.take("q") for _ in range(rank)]
        offset, nbytes = r.take("QQ")
        values.append(dict(dtype=dtype, storage=storage, dims=dims, offset=offset, bytes=nbytes, name=r.str()))
    arena = r.take("Q")
    inputs = [r.take("I") for _ in range(r.take("I"))]
    outputs = [r.take("I") for _ in range(r.take("I"))]
    out_names = [r.str() for _ in outputs]
    steps = []
    for _ in range(r.take("I")):
        name = r.str()
        ins = [r.take("I") for _ in range(r.take("I"))]
        outs = [r.take("I") for _ in range(r.take("I"))]
        attrs = {}
        for _ in range(r.take("I")):
            key, tag = r.str(), r.take("B")
            if tag == 0: attrs[key] = r.take("q")
            elif tag == 1: attrs[key] = r.take("d")
            elif tag == 2: attrs[key] = [r.take("q") for _ in range(r.take("I"))]
            elif tag == 4: attrs[key] = r.str()
            else: raise SystemExit("unexpected attribute tag %d" % tag)
        steps.append((name, ins, outs, attrs))
    return dict(data=data, values=values, arena=arena, inputs=inputs, outputs=outputs,
                out_names=out_names, steps=steps, const_off=const_off)


def eval_size(pairs, symbols):
    """A size program (dsx_size_op pairs, ds_artifact_format.h), refused where
    the runtime's evalSize refuses it (an unbound symbol, int64 overflow, a
    ceildiv of a negative or by a non-positive number, a negative size)."""
    stack = []
    for op, operand in zip(pairs[0::2], pairs[1::2]):
        if op == 0: stack.append(operand)
        elif op == 1:
            if symbols[operand] < 0:
                raise SystemExit("a size program reads dim symbol %d, which no input binds" % operand)
            stack.append(symbols[operand])
        else:
            b, a = stack.pop(), stack.pop()
            if op == 4 and (b <= 0 or a < 0):
                raise SystemExit("a size program divides %d by %d" % (a, b))
            r = a + b if op == 2 else a * b if op == 3 else -(-a // b)
            if not -2**63 <= r < 2**63:
                raise SystemExit("a size program overflows")
            stack.append(r)
    if stack[0] < 0:
        raise SystemExit("a size program gives a negative size")
    return stack[0]


def size_entries(attr, key_width, symbols):
    """{key: size} of a "dynamic_fields" / "dynamic_dims" attribute."""
    out, at = {}, 0
    while at < len(attr):
        key = tuple(attr[at:at + key_width])
        n = attr[at + key_width]
        at += key_width + 1
        out[key if key_width > 1 else key[0]] = eval_size(attr[at:at + 2 * n], symbols)
        at += 2 * n
    return out


def decoded(buf, dtype):
    """An output buffer as float64 (bf16, kept as raw bits, decoded)."""
    if dtype == 4:
        return (buf.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return buf.astype(np.float64)


def mismatches(got, ref, rtol, atol):
    """Per element: does `got` differ from `ref`? NaN must sit exactly where ref
    has NaN, an infinity where ref has the same one; finite values within
    atol + rtol * |ref|. Also the finite differences (for the report)."""
    if got.shape != ref.shape:
        return np.ones(1, bool), np.zeros(0)
    nan_got, nan_ref = np.isnan(got), np.isnan(ref)
    finite = np.isfinite(got) & np.isfinite(ref)
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(got - ref), 0.0)
        bad = (nan_got != nan_ref) | (~finite & ~nan_got & ~nan_ref & (got != ref))
    bad |= finite & (err > atol + rtol * np.abs(ref))
    return bad, err


def read_tensor(path):
    if path.endswith(".npy"):
        return np.load(path)
    from onnx import TensorProto, numpy_helper
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--ds-compile", required=True)
    ap.add_argument("--ds-run", required=True)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--poison-outputs", choices=["nan"],
                    help="overwrite the emulated outputs with NaN (tests the comparison)")
    ap.add_argument("--bind", action="append", default=[], metavar="NAME=FILE",
                    help="bind an input to a .pb / .npy file at compile time (both targets)")
    ap.add_argument("--inputs", action="append", default=[], metavar="NAME=FILE",
                    help="this input's value (.pb or .npy) instead of random data")
    ap.add_argument("--shape", action="append", default=[], metavar="NAME=DxD",
                    help="dims of an input with dynamic dims (random data of that shape)")
    ap.add_argument("--input-shape", action="append", default=[], metavar="NAME:DxD",
                    help="pin an input's dims at compile time (both targets' --ds-input-shape)")
    ap.add_argument("--int-range", type=int, default=8,
                    help="random integer inputs lie in [0, this)")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="ds-cuda-emu-")
    cu, cuda_dsx, cpu_dsx = (os.path.join(tmp, n) for n in ("k.cu", "m.cuda.dsx", "m.cpu.dsx"))
    binds = (["--ds-bind-input=" + b for b in args.bind] +
             ["--ds-input-shape=" + s for s in args.input_shape])
    subprocess.check_call([args.ds_compile, args.model, "--target=cuda", "-o", cuda_dsx, "--dump-cuda=" + cu, "--quiet"] + binds)
    subprocess.check_call([args.ds_compile, args.model, "-o", cpu_dsx, "--quiet"] + binds)
    given = dict(spec.split("=", 1) for spec in args.inputs)

    source = open(cu).read()
    kernels = source[source.index("// ---- kernels ----"):]
    host = HOST_SHIM + prelude_functions() + kernels + kernel_wrappers(kernels)
    cpp, so = os.path.join(tmp, "k.cpp"), os.path.join(tmp, "k.so")
    open(cpp, "w").write(host)
    subprocess.check_call([os.environ.get("CXX", "c++"), "-std=c++20", "-pthread", "-O1", "-shared", "-fPIC", "-w", cpp, "-o", so])
    lib = ctypes.CDLL(so)

    art = read_artifact(cuda_dsx)
    values, data = art["values"], art["data"]
    dynamic = any(d < 0 for v in values for d in v["dims"])
    # Dynamic inputs: dims from --shape (or the given data); a negative dim
    # -(k+1) of an input is dim symbol k (ds_artifact_format.h).
    shapes = {k: [int(x) for x in v.split("x")] for k, v in (a.split("=", 1) for a in args.shape)}
    symbols = {}
    for vid in art["inputs"]:
        v = values[vid]
        if any(d < 0 for d in v["dims"]):
            dims = shapes.get(v["name"]) or (list(read_tensor(given[v["name"]]).shape) if v["name"] in given else None)
            if dims is None:
                raise SystemExit("input '%s' has dynamic dims %s: give them with --shape" % (v["name"], v["dims"]))
            for d, size in zip(v["dims"], dims):
                if d < 0:
                    symbols[-d - 1] = size
            v["dims"] = dims
    symbols = [symbols.get(k, -1) for k in range(max(symbols) + 1)] if symbols else []
    if dynamic:  # every result's dims from its step's size programs
        for name, ins, outs, attrs in art["steps"]:
            for (o, d), size in size_entries(attrs.get("dynamic_dims", []), 2, symbols).items():
                values[outs[o]]["dims"][d] = size
    arena = np.zeros(art["arena"] + 64, np.uint8)
    rng = np.random.default_rng(0)
    buffers, feeds = {}, []
    for vid, v in enumerate(values):
        dt = DTYPES[v["dtype"]]
        count = int(np.prod(v["dims"])) if v["dims"] else 1
        if v["storage"] == 0:  # graph input: given or random, also for ds-run
            if v["name"] in given:
                arr = read_tensor(given[v["name"]]).astype(dt).reshape(v["dims"])
            elif dt == np.bool_:
                arr = rng.integers(0, 2, size=v["dims"]).astype(dt)
            elif np.issubdtype(dt, np.integer):
                arr = rng.integers(0, args.int_range, size=v["dims"]).astype(dt)
            else:
                arr = rng.standard_normal(v["dims"]).astype(dt)
            path = os.path.join(tmp, "in%d.npy" % vid)
            np.save(path, arr)
            feeds += ["--input", "%s=%s" % (v["name"], path)]
            buffers[vid] = np.ascontiguousarray(arr).reshape(-1)
        elif v["storage"] == 1:
            raw = data[art["const_off"] + v["offset"]:art["const_off"] + v["offset"] + v["bytes"]]
            buffers[vid] = np.frombuffer(bytearray(raw), dt, count)
        elif dynamic:  # the runtime plans the arena per shape; here: one buffer each
            buffers[vid] = np.zeros(count, dt)
        else:
            buffers[vid] = arena[v["offset"]:v["offset"] + v["bytes"]].view(dt)[:count]

    for name, ins, outs, attrs in art["steps"]:
        if name == "cuda.alias":
            if dynamic:  # the runtime gives both the same bytes
                buffers[outs[0]] = buffers[ins[0]]
            continue  # same bytes by construction
        fields = size_entries(attrs.get("dynamic_fields", []), 1, symbols)
        if name == "cuda.gemm":
            g = dict(attrs)
            for i, key in enumerate(["m", "n", "k", "batch", "stride_a", "stride_b", "stride_d"]):
                g[key] = fields.get(i, g[key])
            if 0 in (g["m"], g["n"], g["batch"]):
                continue
            if g["k"] == 0:
                raise SystemExit("cuda.gemm with k = 0, which the runtime refuses")
            def real(vid):  # bf16 buffers hold raw bits
                buf = buffers[vid]
                if values[vid]["dtype"] == 4:
                    return (buf.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
                return buf.astype(np.float64)
            a, b, d = real(ins[0]), real(ins[1]), buffers[outs[0]]
            for i in range(g["batch"]):
                A = a[i * g["stride_a"]:][:g["m"] * g["k"]].reshape(g["m"], g["k"])
                B = b[i * g["stride_b"]:][:g["k"] * g["n"]].reshape(g["k"], g["n"])
                D = g["alpha"] * (A @ B)
                if len(ins) > 3 and ins[3] != 0xffffffff:
                    D += g["beta"] * real(ins[3])[i * g["stride_d"]:][:g["m"] * g["n"]].reshape(g["m"], g["n"])
                if "bias" in g["epilogue"]:
                    D += real(ins[2])[:g["n"]]
                if g["epilogue"].endswith("relu"):
                    D = np.maximum(D, 0)
                if g["epilogue"].endswith("gelu"):
                    D = 0.5 * D * (1 + np.tanh(0.7978845608028654 * (D + 0.044715 * D ** 3)))
                if values[outs[0]]["dtype"] == 4:  # round to nearest even bf16 bits
                    u = D.astype(np.float32).view(np.uint32).astype(np.uint64)
                    D = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
                d[i * g["stride_d"]:][:g["m"] * g["n"]] = D.reshape(-1)
            continue
        kernel = attrs["kernel"]
        body = source[source.index(" " + kernel + "("):]
        body = body[:body.index("\n}\n")]
        threaded = any(name in body for name in ("ds_block_reduce", "flash_attention", "ds_topk_slice"))
        ptrs = (ctypes.c_void_p * (len(ins) + len(outs) + len(symbols)))(
            *([buffers[i].ctypes.data for i in ins + outs] + symbols))
        gx, gy, gz = [fields.get(axis, g) for axis, g in enumerate(attrs["grid"])]
        if 0 in (gx, gy, gz) or all(buffers[o].size == 0 for o in outs):
            continue  # the runtime skips a step only when all its results are empty
        getattr(lib, "run_" + kernel)(gx, gy, gz, attrs["block"][0], int(threaded), ptrs)

    outdir = os.path.join(tmp, "cpu")
    os.makedirs(outdir)
    subprocess.check_call([args.ds_run, cpu_dsx, "--runs", "1", "--warmup", "0", "--quiet", "--output-dir", outdir] + feeds,
                          stdout=subprocess.DEVNULL)
    if args.poison_outputs:
        for vid in art["outputs"]:
            buffers[vid][...] = np.nan if np.issubdtype(buffers[vid].dtype, np.floating) else 0
    worst = 0.0
    ok = True
    for vid, name in zip(art["outputs"], art["out_names"]):
        # ds-run names the file after the output, '/' replaced (tools/ds-run).
        file = name.replace("/", "_")
        file = "_" + file if file in ("", ".", "..") else file
        # ds-run writes bf16 as its raw bits (tools/ds-run/Npy.h): both sides decoded alike.
        raw = np.load(os.path.join(outdir, file + ".npy")).reshape(-1)
        ref = decoded(raw, values[vid]["dtype"])
        got = decoded(buffers[vid], values[vid]["dtype"])
        bad, err = mismatches(got, ref, args.rtol, args.atol)
        if values[vid]["dtype"] in EXACT_DTYPES and raw.size == buffers[vid].size:
            # No tolerance (and no float64 rounding of 64-bit integers).
            bad = buffers[vid].reshape(-1) != raw.astype(buffers[vid].dtype)
        worst = max([worst] + ([float(err.max())] if err.size else []))
        if bad.any():
            ok = False
            i = int(np.argmax(bad)) if bad.size else 0
            at = ("at %d: cuda-emulated %g, cpu %g" % (i, got[i], ref[i]) if got.size == ref.size
                  else "in size: cuda-emulated %d elements, cpu %d" % (got.size, ref.size))
            print("%s: output %s differs in %d of %d elements, first %s" % (
                os.path.basename(args.model), name, int(bad.sum()), ref.size, at))
    print("%s: %d steps emulated, max abs difference to the CPU backend %.3g: %s" % (
        os.path.basename(args.model), len(art["steps"]), worst, "match" if ok else "MISMATCH"))
    if ok or args.poison_outputs:
        shutil.rmtree(tmp)
    else:
        print("kept %s (source, host translation unit, artifacts)" % tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
