#!/usr/bin/env python3
"""Weight-only int8 / int4 on a LLaMA-style decoder, side by side in one run.

The model: utils/export_torch_models.py's llama_stack (2 decoder layers at
hidden 2048, 16 heads, SwiGLU 5632, a KV cache), exported with PyTorch
(Debian's /usr/bin/python3). Two shapes: decoding one token after 127 cached
ones (reads every weight once: bound by memory) and a 128-token prefill
(bound by arithmetic). Engines, interleaved, same threads:

  ort fp32 / ds fp32      the exported model
  ds int8-weights         ds.compile(quantize="int8-weights"): ds-quantize-weights,
                          one scale per column, read by ds.matmul_quantized_weight
  ds int4-weights         quantize="int4-weights": blocks of 32 rows (two codes per
                          byte in the artifact, read packed by the session)
  ort int4 (MatMulNBits)  onnxruntime's own weight-only quantizer
                          (MatMulNBitsQuantizer, 4 bits, blocks of 32, symmetric),
                          run by onnxruntime

Columns: median ms per shape, model file size (ds: the artifact), and the
decode step's error against onnxruntime fp32 (max abs, cosine).

  python3 bench/weight_only.py [--threads 2] [--runs 20]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

import ds

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from interleave import interleaved, ort_session  # noqa: E402

LAYERS, HEADS, HEAD_DIM, HIDDEN = 2, 16, 128, 2048


def feeds(sequence, past, seed):
    rng = np.random.default_rng(seed)
    f = {"hidden_states": rng.standard_normal((1, sequence, HIDDEN)).astype(np.float32)}
    for i in range(LAYERS):
        for kv in ("key", "value"):
            f[f"past_key_values.{i}.{kv}"] = rng.standard_normal(
                (1, HEADS, past, HEAD_DIM)).astype(np.float32)
    return f


def ort_int4(path, out):
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    import logging
    import onnx
    # It logs every node it visits at INFO.
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    quantizer = MatMulNBitsQuantizer(onnx.load(path), block_size=32, is_symmetric=True)
    quantizer.process()
    quantizer.model.save_model_to_file(out, use_external_data_format=False)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    shapes = {"decode 1 after 127": feeds(1, 127, 0), "prefill 128": feeds(128, 0, 1)}
    with tempfile.TemporaryDirectory(prefix="ds-weight-only-") as scratch:
        subprocess.run(["/usr/bin/python3", os.path.join(REPO, "utils", "export_torch_models.py"),
                        "--out", scratch, "--only", "llama_stack"], check=True,
                       stdout=subprocess.DEVNULL)
        path = os.path.join(scratch, "llama_stack.onnx")
        files, sessions = {}, {}
        sessions["ort fp32"] = ("ort", ort_session(path, args.threads))
        files["ort fp32"] = path
        for label, options in (("ds fp32", {}), ("ds int8-weights", {"quantize": "int8-weights"}),
                               ("ds int4-weights", {"quantize": "int4-weights"})):
            artifact = ds.compile(path, os.path.join(scratch, label.replace(" ", "_") + ".dsx"),
                                  **options)
            files[label] = artifact
            sessions[label] = ("ds", ds.load(artifact, num_threads=args.threads))
        try:
            q4 = ort_int4(path, os.path.join(scratch, "llama_stack.q4.onnx"))
            files["ort int4 (MatMulNBits)"] = q4
            sessions["ort int4 (MatMulNBits)"] = ("ort", ort_session(q4, args.threads))
        except ImportError as e:  # onnxruntime's quantizer needs onnx_ir
            print(f"onnxruntime's 4-bit quantizer skipped: {e}")

        def runner(kind, session, feed):
            if kind == "ort":
                return lambda: session.run(None, feed)
            return lambda: session.run(feed)

        times = {}
        for shape, feed in shapes.items():
            engines = {label: runner(kind, s, feed) for label, (kind, s) in sessions.items()}
            times[shape] = interleaved(engines, args.runs, warmup=3)
        decode = shapes["decode 1 after 127"]
        reference = sessions["ort fp32"][1].run(None, decode)[0].astype(np.float64)
        print(f"threads: {args.threads}, runs: {args.runs} (interleaved, after 3 warm-up rounds); "
              "errors of the decode step's output against onnxruntime fp32")
        print()
        print("| engine | " + " | ".join(f"{s} ms" for s in shapes) +
              " | model MiB | max err | cosine |")
        print("|---|" + "---:|" * (len(shapes) + 3))
        for label, (kind, session) in sessions.items():
            out = runner(kind, session, decode)()
            got = (out[0] if kind == "ort" else list(out.values())[0]).astype(np.float64)
            cosine = float(got.ravel() @ reference.ravel() /
                           (np.linalg.norm(got) * np.linalg.norm(reference)))
            cells = " | ".join(f"{times[s][label] * 1e3:.2f}" for s in shapes)
            print(f"| {label} | {cells} | {os.path.getsize(files[label]) / 2**20:.1f} | "
                  f"{np.abs(got - reference).max():.1e} | {cosine:.6f} |")


if __name__ == "__main__":
    main()
