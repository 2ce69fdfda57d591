#!/usr/bin/env python3
"""Fidelity and speed of lower precision on the CPU, side by side in one run.

For each model, against onnxruntime in fp32 on the same inputs (the reference):
  ds fp32, ds bf16, ds fp16, ds fp8
                                   ds.compile(precision=...): ds-assign-precision (fp8:
                                   e4m3 operands emulated in f32, accuracy not speed)
  ds auto (fp16, calibrated)       ds.compile(precision="auto"): fp16 except the ops
                                   that overflowed or missed fp32 by more than the
                                   budget on the 8 calibration inputs
  ds auto (fp8, calibrated)        the same in fp8: the contractions whose own e4m3
                                   error on those inputs exceeds 0.08 stay fp32
  ds int8 dynamic (ds's own)       ds.compile(quantize="dynamic"): ds-quantize-dynamic
  ds int8 static (ds's own PTQ)    ds.compile(quantize="static"), calibrated by ds.calibrate
                                   on the same 8 inputs as onnxruntime's quantizer (min-max);
                                   "+ SmoothQuant": smooth_quant=0.5
  int8 dynamic (ort / ds)          onnxruntime's quantize_dynamic output, run by
                                   onnxruntime and by ds (ds.matmul_integer)
  int8 static QDQ (ort / ds)       onnxruntime's quantize_static output (QDQ,
                                   calibrated on 8 random inputs), run by both
Columns: median latency (interleaved rounds, same threads, pools that do not
spin), speed against ds fp32, the model's size (onnxruntime: the .onnx file;
ds: the compiled artifact), ds's activation arena, max and
mean absolute error, cosine similarity and top-1 agreement (argmax over the
last dim of the first output) against the reference.

Models: the PyTorch exports of utils/export_torch_models.py (ResNet-18-style
CNN at 224x224, batch 2; LLaMA-style decoder layer at hidden 2048, sequence
128), exported with /usr/bin/python3 (Debian's python3-torch) when it is
there; the generated 12-layer BERT-base (sequence 128) with --bert-base.

  python3 bench/precision.py [--threads 2] [--runs 10] [--bert-base]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)

import ds

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "test", "e2e"))
from feeds import feeds_for, signature  # noqa: E402
from interleave import interleaved, ort_session  # noqa: E402


class Calibration(CalibrationDataReader):
    def __init__(self, inputs, count=8):
        self.feeds = iter([feeds_for(inputs, seed=100 + i) for i in range(count)])

    def get_next(self):
        return next(self.feeds, None)


def errors(got, ref):
    g, r = got.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
    cosine = float(g @ r / (np.linalg.norm(g) * np.linalg.norm(r)))
    top1 = float(np.mean(np.argmax(got, -1) == np.argmax(ref, -1)))
    return np.abs(g - r).max(), np.abs(g - r).mean(), cosine, top1


def model_rows(name, path, inputs, scratch, args):
    feeds = feeds_for(inputs, seed=0)
    reference = ort_session(path, args.threads).run(None, feeds)[0]
    engines, sessions, files = {}, {}, {}

    def add_ds(label, model, **options):
        artifact = ds.compile(model, os.path.join(scratch, f"{name}-{label}.dsx"), **options)
        session = ds.load(artifact, num_threads=args.threads)
        sessions[label] = session
        files[label] = artifact
        engines[label] = lambda: session.run(feeds)

    def add_ort(label, model):
        session = ort_session(model, args.threads)
        files[label] = model
        engines[label] = lambda: session.run(None, feeds)

    add_ort("ort fp32", path)
    samples = [feeds_for(inputs, seed=100 + i) for i in range(8)]
    for precision in ("fp32", "bf16", "fp16", "fp8"):
        add_ds(f"ds {precision}", path, precision=precision)
    add_ds("ds auto (fp16, calibrated)", path, precision="auto", calibration_data=samples)
    add_ds("ds auto (fp8, calibrated)", path, precision="auto", auto_precision="fp8",
           calibration_data=samples)
    add_ds("ds int8 dynamic (ds's own)", path, quantize="dynamic")
    add_ds("ds int8 static (ds's own PTQ)", path, quantize="static", calibration_data=samples)
    add_ds("ds int8 static + SmoothQuant", path, quantize="static", calibration_data=samples,
           smooth_quant=0.5)
    dyn = os.path.join(scratch, f"{name}.int8-dynamic.onnx")
    quantize_dynamic(path, dyn, weight_type=QuantType.QInt8)
    add_ort("ort int8 dynamic", dyn)
    add_ds("ds int8 dynamic", dyn)
    qdq = os.path.join(scratch, f"{name}.int8-qdq.onnx")
    quantize_static(path, qdq, Calibration(inputs), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    add_ort("ort int8 QDQ", qdq)
    add_ds("ds int8 QDQ", qdq)

    seconds = interleaved(engines, args.runs, warmup=2)
    rows = []
    for label, run in engines.items():
        out = run()
        got = list(out.values())[0] if isinstance(out, dict) else out[0]
        max_err, mean_err, cosine, top1 = errors(got, reference)
        arena = sessions[label].arena_bytes / 2**20 if label in sessions else None
        rows.append((name, label, seconds[label] * 1e3, seconds["ds fp32"] / seconds[label],
                     os.path.getsize(files[label]) / 2**20, arena, max_err, mean_err, cosine, top1))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--bert-base", action="store_true",
                        help="also the generated 12-layer BERT-base (sequence 128)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ds-precision-") as scratch:
        torch_python = "/usr/bin/python3"
        exported = subprocess.run(
            [torch_python, os.path.join(REPO, "utils", "export_torch_models.py"), "--out", scratch,
             "--only", "resnet", "llama_layer"], capture_output=True, text=True)
        if exported.returncode == 0:
            rows += model_rows("resnet (PyTorch) 2x3x224x224", os.path.join(scratch, "resnet.onnx"),
                               [("pixels", np.float32, [2, 3, 224, 224])], scratch, args)
            rows += model_rows("llama layer (PyTorch) 1x128x2048",
                               os.path.join(scratch, "llama_layer.onnx"),
                               [("hidden_states", np.float32, [1, 128, 2048])], scratch, args)
        else:
            print(f"PyTorch exports skipped ({torch_python} has no torch?):\n"
                  f"{exported.stderr.strip().splitlines()[-1:]}")
        if args.bert_base:
            subprocess.run([sys.executable, os.path.join(REPO, "utils", "gen_models.py"), "--out",
                            scratch, "--only", "bert_base"], check=True, stdout=subprocess.DEVNULL)
            path = os.path.join(scratch, "bert_base.onnx")
            rows += model_rows("bert_base (generated) 1x128", path, signature(path), scratch, args)

    print(f"threads: {args.threads}, runs: {args.runs} (interleaved, after 2 warm-up rounds); "
          "errors against onnxruntime fp32")
    print()
    print("| model | engine | ms | speed vs ds fp32 | model MiB | ds arena MiB | max err | "
          "mean err | cosine | top-1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, label, ms, speed, size, arena, max_err, mean_err, cosine, top1 in rows:
        # Dynamic-shape models plan their arena per input shape at run time.
        arena_text = "-" if arena is None else "per shape" if arena == 0 else f"{arena:.1f}"
        print(f"| {name} | {label} | {ms:.1f} | {speed:.2f} | {size:.1f} | {arena_text} | "
              f"{max_err:.1e} | {mean_err:.1e} | {cosine:.6f} | {top1:.3f} |")


if __name__ == "__main__":
    main()
