#!/usr/bin/env python3
"""Export small PyTorch transformers to ONNX with dynamic dims, as users do.

Writes, with random weights from a fixed seed:
  bert_dynamic.onnx  BERT-style encoder; inputs input_ids and attention_mask
                     [batch, sequence] (int64), output last_hidden_state
                     [batch, sequence, hidden]; batch and sequence dynamic.
  gpt_kv.onnx        GPT-style decoder with a KV cache, in the layout decoder
                     exporters produce: inputs input_ids [batch, sequence] and
                     past_key_values.{i}.key/value [batch, heads, past, head_dim];
                     outputs logits [batch, sequence, vocab] and
                     present.{i}.key/value [batch, heads, past + sequence,
                     head_dim]. Past length 0 is prefill.

Both go through torch.onnx.export (the TorchScript exporter of PyTorch 1.13,
Debian's python3-torch), so the graphs carry the Shape/Gather/Unsqueeze/Concat
shape arithmetic real exports have. The files are checked in under
test/e2e/models so tests need no PyTorch; rerun this script to regenerate them:

  /usr/bin/python3 utils/export_torch_models.py --out test/e2e/models
"""

import argparse
import math
import os

import torch
from torch import nn


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def merge(self, x):
        b, _, s, _ = x.shape
        return x.transpose(1, 2).reshape(b, s, self.heads * self.head_dim)


class EncoderLayer(nn.Module):
    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.attn = SelfAttention(hidden, heads)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ffn_in = nn.Linear(hidden, ffn)
        self.ffn_out = nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask_bias):
        a = self.attn
        q, k, v = a.split(a.query(x)), a.split(a.key(x)), a.split(a.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(a.head_dim) + mask_bias
        context = a.merge(torch.matmul(torch.softmax(scores, dim=-1), v))
        x = self.ln1(x + a.out(context))
        return self.ln2(x + self.ffn_out(nn.functional.gelu(self.ffn_in(x))))


class Bert(nn.Module):
    def __init__(self, vocab=100, hidden=64, heads=4, ffn=128, layers=2, max_pos=512):
        super().__init__()
        self.words = nn.Embedding(vocab, hidden)
        self.positions = nn.Embedding(max_pos, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.ln(self.words(input_ids) + self.positions(positions))
        # [batch, 1, 1, sequence]: 0 where attended, a large negative where padded.
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x


class DecoderLayer(nn.Module):
    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.ln1 = nn.LayerNorm(hidden)
        self.attn = SelfAttention(hidden, heads)
        self.ln2 = nn.LayerNorm(hidden)
        self.ffn_in = nn.Linear(hidden, ffn)
        self.ffn_out = nn.Linear(ffn, hidden)

    def forward(self, x, past_key, past_value):
        a = self.attn
        h = self.ln1(x)
        q = a.split(a.query(h))
        key = torch.cat([past_key, a.split(a.key(h))], dim=2)
        value = torch.cat([past_value, a.split(a.value(h))], dim=2)
        seq, total = q.shape[2], key.shape[2]
        past = total - seq
        # Query i (absolute position past + i) sees keys 0 .. past + i.
        visible = torch.arange(total)[None, :] <= (torch.arange(seq) + past)[:, None]
        scores = torch.matmul(q, key.transpose(-1, -2)) / math.sqrt(a.head_dim)
        scores = scores.masked_fill(~visible, torch.finfo(scores.dtype).min)
        x = x + a.out(a.merge(torch.matmul(torch.softmax(scores, dim=-1), value)))
        x = x + self.ffn_out(nn.functional.gelu(self.ffn_in(self.ln2(x))))
        return x, key, value


class Gpt(nn.Module):
    def __init__(self, vocab=100, hidden=64, heads=4, ffn=128, layers=2, max_pos=512):
        super().__init__()
        self.words = nn.Embedding(vocab, hidden)
        self.positions = nn.Embedding(max_pos, hidden)
        self.layers = nn.ModuleList(DecoderLayer(hidden, heads, ffn) for _ in range(layers))
        self.ln = nn.LayerNorm(hidden)

    def forward(self, input_ids, *past):
        start = past[0].shape[2]
        positions = torch.arange(input_ids.shape[1]) + start
        x = self.words(input_ids) + self.positions(positions)[None]
        presents = []
        for i, layer in enumerate(self.layers):
            x, key, value = layer(x, past[2 * i], past[2 * i + 1])
            presents += [key, value]
        logits = torch.matmul(self.ln(x), self.words.weight.t())
        return (logits, *presents)


def export_bert(path):
    model = Bert().eval()
    ids = torch.randint(0, 100, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"], opset_version=17,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                    "last_hidden_state": axes})


def export_gpt(path, layers=2, heads=4, head_dim=16):
    model = Gpt(layers=layers, hidden=heads * head_dim, heads=heads).eval()
    ids = torch.randint(0, 100, (1, 3))
    past = [torch.randn(1, heads, 5, head_dim) for _ in range(2 * layers)]
    names, axes = ["input_ids"], {"input_ids": {0: "batch", 1: "sequence"}}
    outputs = ["logits"]
    axes["logits"] = {0: "batch", 1: "sequence"}
    for i in range(layers):
        for kind in ("key", "value"):
            names.append(f"past_key_values.{i}.{kind}")
            axes[names[-1]] = {0: "batch", 2: "past_sequence"}
            outputs.append(f"present.{i}.{kind}")
            axes[outputs[-1]] = {0: "batch", 2: "total_sequence"}
    torch.onnx.export(model, (ids, *past), path, input_names=names, output_names=outputs,
                      opset_version=17, dynamic_axes=axes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    export_bert(os.path.join(args.out, "bert_dynamic.onnx"))
    export_gpt(os.path.join(args.out, "gpt_kv.onnx"))


if __name__ == "__main__":
    main()
