#!/usr/bin/env python3
"""The GEMMs the CPU runtime can call, on one thread, side by side: oneDNN's
sgemm, bf16 (dnnl_gemm_bf16bf16f32) and u8 x s8 (dnnl_gemm_u8s8s32) through
ctypes on the libraries cpu/Dnnl.cpp opens, and numpy's f32 matmul (OpenBLAS).
Prints GFLOP/s per call shape; the figures behind docs/runtime.md's oneDNN
decision.

  OPENBLAS_NUM_THREADS=1 python3 bench/gemm_libraries.py [--runs 20]
"""
import argparse
import ctypes
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

I64, F32, P = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
N = ctypes.c_char(b"N")


def timed(fn, runs):
    fn()
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    dnnl = ctypes.CDLL("libdnnl.so.2")
    ctypes.CDLL("libgomp.so.1").omp_set_num_threads(1)  # as the runtime calls it
    rng = np.random.default_rng(0)
    print("| M x N x K | numpy f32 (OpenBLAS) | oneDNN f32 | oneDNN bf16 | oneDNN u8 x s8 |")
    print("|---|---:|---:|---:|---:|")
    for m, n, k in [(128, 768, 768), (128, 3072, 768), (128, 768, 3072), (512, 2048, 2048)]:
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
        c = np.zeros((m, n), np.float32)
        abf = (a.view(np.uint32) >> 16).astype(np.uint16)
        bbf = (b.view(np.uint32) >> 16).astype(np.uint16)
        a8 = rng.integers(0, 256, (m, k), dtype=np.uint8)
        b8 = rng.integers(-128, 128, (k, n), dtype=np.int8)
        c32 = np.zeros((m, n), np.int32)
        zero = ctypes.c_int32(0)
        calls = {
            "numpy": lambda: np.matmul(a, b, out=c) is None,
            "f32": lambda: dnnl.dnnl_sgemm(N, N, I64(m), I64(n), I64(k), F32(1),
                                           P(a.ctypes.data), I64(k), P(b.ctypes.data), I64(n),
                                           F32(0), P(c.ctypes.data), I64(n)),
            "bf16": lambda: dnnl.dnnl_gemm_bf16bf16f32(
                N, N, I64(m), I64(n), I64(k), F32(1), P(abf.ctypes.data), I64(k),
                P(bbf.ctypes.data), I64(n), F32(0), P(c.ctypes.data), I64(n)),
            "int8": lambda: dnnl.dnnl_gemm_u8s8s32(
                N, N, ctypes.c_char(b"F"), I64(m), I64(n), I64(k), F32(1),
                P(a8.ctypes.data), I64(k), ctypes.c_uint8(0), P(b8.ctypes.data), I64(n),
                ctypes.c_int8(0), F32(0), P(c32.ctypes.data), I64(n), ctypes.byref(zero)),
        }
        for name in ("f32", "bf16", "int8"):  # a refused call would time as nothing
            assert calls[name]() == 0, f"oneDNN refused {name} at {m} x {n} x {k}"
        flops = 2.0 * m * n * k
        rates = [flops / timed(calls[name], args.runs) / 1e9 for name in ("numpy", "f32", "bf16", "int8")]
        print(f"| {m} x {n} x {k} | " + " | ".join(f"{r:.0f}" for r in rates) + " |")


if __name__ == "__main__":
    main()
