"""PyTorch's side of test_attention.py's GPT decoder under a sparse policy:
run by Debian's /usr/bin/python3 (python3-torch 1.13).

  /usr/bin/python3 -S torch_sparse_decoder.py OUT_DIR WINDOW SINKS

exports utils/export_torch_models.py's Gpt (2 layers, 4 heads of 16, a KV
cache; weights from a fixed seed) to OUT_DIR/gpt.onnx with its plain causal
mask, then runs it eagerly with each query limited to the WINDOW keys ending
at its position plus the first SINKS keys: a prefill of 40 tokens (batch
2) and 3 greedy decode steps, each fed the previous step's presents.
OUT_DIR/gpt.npz holds each step's feeds ("<step>/feed/<name>") and outputs
("<step>/out/<name>").
"""

import os
import sys

sys.path.append("/usr/lib/python3/dist-packages")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "utils"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from export_torch_models import Gpt, export_gpt  # noqa: E402

LAYERS, HEADS, HEAD_DIM = 2, 4, 16


def main():
    out, window, sinks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(0)
    model = Gpt(layers=LAYERS, hidden=HEADS * HEAD_DIM, heads=HEADS).eval()
    export_gpt(os.path.join(out, "gpt.onnx"), LAYERS, HEADS, HEAD_DIM, model=model)
    for layer in model.layers:
        layer.window, layer.sinks = window, sinks
    ids = torch.randint(0, 100, (2, 40))
    past = [torch.zeros(2, HEADS, 0, HEAD_DIM) for _ in range(2 * LAYERS)]
    names = [f"past_key_values.{i}.{kind}" for i in range(LAYERS) for kind in ("key", "value")]
    outputs = ["logits"] + [f"present.{i}.{kind}" for i in range(LAYERS)
                            for kind in ("key", "value")]
    saved = {}
    with torch.no_grad():
        for step in range(4):
            feeds = dict(zip(["input_ids"] + names, [ids] + past))
            results = model(ids, *past)
            for name, value in feeds.items():
                saved[f"{step}/feed/{name}"] = value.numpy()
            for name, value in zip(outputs, results):
                saved[f"{step}/out/{name}"] = value.numpy()
            ids = results[0][:, -1:].argmax(-1)
            past = list(results[1:])
    np.savez(os.path.join(out, "gpt.npz"), **saved)


if __name__ == "__main__":
    main()
