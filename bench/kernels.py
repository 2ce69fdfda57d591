#!/usr/bin/env python3
"""Single contractions side by side: ds's GEMMs and int8 convolution next to onnxruntime's.

One-node ONNX models with constant weights, so each engine runs one kernel:
  int8 matmul   MatMulInteger, u8 activations x s8 weights (ds: the packed VNNI GEMM)
  f32 matmul    MatMul (ds: the packed f32 GEMM)
  bf16 matmul   the f32 model compiled with precision="bf16" (ds only: onnxruntime has no
                bf16 CPU matmul; ds: the packed AVX512-BF16 GEMM where the CPU has it; the
                time includes the model's f32 -> bf16 input and bf16 -> f32 output casts)
  int8 conv     QLinearConv, u8 x s8 -> u8, the ResNet-18 shapes at batch 2 (ds: the VNNI
                direct convolution storing through its requantization; onnxruntime: its
                QLinearConv)
  f32 conv      Conv with bias, every distinct layer of ResNet-50 at batch 1 (ds: by pixels,
                Winograd, direct or the packed-left GEMM, as its session picks; onnxruntime:
                its NCHWc kernels, with the reorders into and out of its blocked layout that
                a whole network pays only at its ends)
The shapes are BERT-base's and a LLaMA layer's at sequence 128. Each engine runs bursts of
calls in interleaved rounds; the table gives the median milliseconds per call and the
multiply-adds per second. The pools differ between the calls of a burst: ds's workers poll
for 200 us, onnxruntime's pool does not spin (as in the model benchmarks: a spinning pool
took the cores of the next engine here, and with it ds's times grew by a third), so its
threads wake for each call, which weighs on the shortest rows (about 0.1 ms).

  python3 bench/kernels.py [--threads 1,2] [--runs 10] [--only int8,f32,bf16,conv,f32conv]
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import ds

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from interleave import interleaved, ort_session  # noqa: E402

MATMULS = [(128, 768, 768), (128, 768, 3072), (128, 3072, 768), (128, 2048, 2048),
           (128, 2048, 5632)]
# (batch, channels in, size, channels out, kernel, stride, pad)
CONVS = [(2, 3, 224, 64, 7, 2, 3), (2, 64, 56, 64, 3, 1, 1), (2, 128, 28, 128, 3, 1, 1),
         (2, 256, 14, 256, 3, 1, 1), (2, 512, 7, 512, 3, 1, 1)]

# (channels in, size, channels out, kernel, stride): ResNet-50's convolutions
RESNET50_CONVS = [(3, 224, 64, 7, 2), (64, 56, 64, 1, 1), (64, 56, 64, 3, 1), (64, 56, 256, 1, 1),
                  (256, 56, 64, 1, 1), (256, 56, 128, 1, 1), (128, 56, 128, 3, 2),
                  (128, 28, 512, 1, 1), (256, 56, 512, 1, 2), (512, 28, 128, 1, 1),
                  (128, 28, 128, 3, 1), (512, 28, 256, 1, 1), (256, 28, 256, 3, 2),
                  (256, 14, 1024, 1, 1), (512, 28, 1024, 1, 2), (1024, 14, 256, 1, 1),
                  (256, 14, 256, 3, 1), (1024, 14, 512, 1, 1), (512, 14, 512, 3, 2),
                  (512, 7, 2048, 1, 1), (1024, 14, 2048, 1, 2), (2048, 7, 512, 1, 1),
                  (512, 7, 512, 3, 1)]


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)
    return path


def matmul_model(path, M, K, N, integer):
    rng = np.random.default_rng(0)
    if integer:
        w = rng.integers(-128, 128, (K, N), dtype=np.int8)
        node = helper.make_node("MatMulInteger", ["a", "w"], ["y"])
        a_type, y_type = TensorProto.UINT8, TensorProto.INT32
    else:
        w = (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32)
        node = helper.make_node("MatMul", ["a", "w"], ["y"])
        a_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("a", a_type, [1, M, K])],
                              [helper.make_tensor_value_info("y", y_type, [1, M, N])],
                              [numpy_helper.from_array(w, "w")])
    return save(graph, path)


def conv_model(path, batch, cin, size, cout, kernel, stride, pad):
    """QLinearConv: u8 in, s8 weights, u8 out with its requantization (what
    onnxruntime's QDQ models run; its ConvInteger is a reference loop)."""
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (cout, cin, kernel, kernel), dtype=np.int8)
    out = (size + 2 * pad - kernel) // stride + 1
    scalar = lambda name, value, dtype: numpy_helper.from_array(np.array(value, dtype=dtype), name)
    # An output scale for about 40 steps per standard deviation of the sums
    # (uniform bytes about their zero points: 74 each), so that few saturate.
    xs, ws = 0.02, 0.01
    ys = xs * ws * 74 * 74 * np.sqrt(cin * kernel * kernel) / 40
    initializers = [numpy_helper.from_array(w, "w"), scalar("xs", xs, np.float32),
                    scalar("xz", 128, np.uint8), scalar("ws", ws, np.float32),
                    scalar("wz", 0, np.int8), scalar("ys", ys, np.float32),
                    scalar("yz", 128, np.uint8)]
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"],
                            kernel_shape=[kernel, kernel], strides=[stride, stride],
                            pads=[pad] * 4)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [batch, cin, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [batch, cout, out, out])],
        initializers)
    return save(graph, path), batch * cout * out * out * cin * kernel * kernel


def float_conv_model(path, cin, size, cout, kernel, stride):
    rng = np.random.default_rng(0)
    pad = kernel // 2
    out = (size + 2 * pad - kernel) // stride + 1
    w = (rng.standard_normal((cout, cin, kernel, kernel)) / np.sqrt(cin * kernel * kernel))
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[kernel, kernel],
                            strides=[stride, stride], pads=[pad] * 4)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, out, out])],
        [numpy_helper.from_array(w.astype(np.float32), "w"),
         numpy_helper.from_array(rng.standard_normal(cout).astype(np.float32), "b")])
    return save(graph, path), cout * out * out * cin * kernel * kernel


def burst(run, calls):
    def go():
        for _ in range(calls):
            run()
    return go


def measure(label, shape, macs, onnx_path, feeds, args, scratch, rows, precision="fp32",
            with_ort=True):
    for threads in args.threads:
        engines = {}
        artifact = ds.compile(onnx_path, os.path.join(scratch, f"{label}-{threads}.dsx"),
                              precision=precision)
        session = ds.load(artifact, num_threads=threads)
        # About 20 ms of work per burst at 200 GMAC/s per thread.
        calls = max(1, min(500, int(0.02 * 2e11 * threads / max(macs, 1))))
        engines["ds"] = burst(lambda: session.run(feeds), calls)
        if with_ort:
            ort = ort_session(onnx_path, threads)
            engines["onnxruntime"] = burst(lambda: ort.run(None, feeds), calls)
        seconds = interleaved(engines, args.runs, warmup=2)
        for engine, s in seconds.items():
            per_call = s / calls
            rows.append((label, shape, threads, engine, per_call * 1e3, macs / per_call / 1e9))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="int8,f32,bf16,conv,f32conv")
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    only = set(args.only.split(","))
    rows = []
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(prefix="ds-kernels-") as scratch:
        for M, K, N in MATMULS:
            shape = f"{M}x{K}x{N}"
            if "int8" in only:
                path = matmul_model(os.path.join(scratch, f"i{shape}.onnx"), M, K, N, True)
                feeds = {"a": rng.integers(0, 256, (1, M, K), dtype=np.uint8)}
                measure("int8 matmul", shape, M * K * N, path, feeds, args, scratch, rows)
            if "f32" in only or "bf16" in only:
                path = matmul_model(os.path.join(scratch, f"f{shape}.onnx"), M, K, N, False)
                feeds = {"a": rng.standard_normal((1, M, K)).astype(np.float32)}
                if "f32" in only:
                    measure("f32 matmul", shape, M * K * N, path, feeds, args, scratch, rows)
                if "bf16" in only:
                    measure("bf16 matmul", shape, M * K * N, path, feeds, args, scratch, rows,
                            precision="bf16", with_ort=False)
        if "conv" in only:
            for batch, cin, size, cout, kernel, stride, pad in CONVS:
                shape = f"{batch}x{cin}x{size}x{size} -> {cout}, {kernel}x{kernel}/{stride}"
                path, macs = conv_model(os.path.join(scratch, f"c{cin}_{size}.onnx"), batch,
                                        cin, size, cout, kernel, stride, pad)
                feeds = {"x": rng.integers(0, 256, (batch, cin, size, size), dtype=np.uint8)}
                measure("int8 conv", shape, macs, path, feeds, args, scratch, rows)

        if "f32conv" in only:
            for cin, size, cout, kernel, stride in RESNET50_CONVS:
                shape = f"{cin}x{size}x{size} -> {cout}, {kernel}x{kernel}/{stride}"
                path, macs = float_conv_model(
                    os.path.join(scratch, f"f{cin}_{size}_{cout}_{kernel}_{stride}.onnx"), cin,
                    size, cout, kernel, stride)
                feeds = {"x": rng.standard_normal((1, cin, size, size)).astype(np.float32)}
                measure("f32 conv", shape, macs, path, feeds, args, scratch, rows)

    print(f"runs: {args.runs} interleaved rounds after 2 warm-up rounds, each a burst of calls; "
          "median ms per call")
    print()
    print("| kernel | shape | threads | engine | ms | GMAC/s |")
    print("|---|---|---:|---|---:|---:|")
    for label, shape, threads, engine, ms, gmacs in rows:
        print(f"| {label} | {shape} | {threads} | {engine} | {ms:.3f} | {gmacs:.0f} |")


if __name__ == "__main__":
    main()
