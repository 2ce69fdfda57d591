#!/usr/bin/env python3
"""OpenBLAS sgemm rate by call block, on one thread: the figures behind
cpu/Gemm.h's gemmBlocks cost model (each call re-packs its slice of both
operands, so small blocks of rows or columns lose rate).

For each GEMM shape, C = A B is computed in blocks of `rows` x `cols` (one
cblas_sgemm call per block, as the runtime's unfused GEMMs do) and the
GFLOP/s of the whole product printed per block size.

  python3 bench/gemm_blocks.py [--runs 10]
"""
import argparse
import ctypes
import time

import numpy as np

P, I, F = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
ROW_MAJOR, NO_TRANS = 101, 111


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    blas = ctypes.CDLL("libopenblas.so.0")  # the library cpu/Blas.cpp opens
    blas.openblas_set_num_threads(1)
    rng = np.random.default_rng(0)
    for m, n, k in [(128, 3072, 768), (256, 2048, 2048), (512, 768, 768)]:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.zeros((m, n), np.float32)
        col_sizes = [128, 256, 512, n]
        print(f"\n{m} x {n} x {k}: GFLOP/s by block rows (lines) and columns")
        print("| rows | " + " | ".join(f"cols {s}" for s in col_sizes) + " |")
        print("|---:|" + "---:|" * len(col_sizes))
        for rows in [r for r in (32, 64, 128, 256) if r <= m]:
            rates = []
            for cols in col_sizes:
                def product():
                    for r0 in range(0, m, rows):
                        for c0 in range(0, n, cols):
                            blas.cblas_sgemm(
                                ROW_MAJOR, NO_TRANS, NO_TRANS, I(min(rows, m - r0)),
                                I(min(cols, n - c0)), I(k), F(1), P(a.ctypes.data + r0 * k * 4),
                                I(k), P(b.ctypes.data + c0 * 4), I(n), F(0),
                                P(c.ctypes.data + (r0 * n + c0) * 4), I(n))
                product()
                start = time.perf_counter()
                for _ in range(args.runs):
                    product()
                seconds = (time.perf_counter() - start) / args.runs
                rates.append(2.0 * m * n * k / seconds / 1e9)
            print(f"| {rows} | " + " | ".join(f"{r:.0f}" for r in rates) + " |")


if __name__ == "__main__":
    main()
