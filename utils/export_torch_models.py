#!/usr/bin/env python3
"""Export small PyTorch transformers to ONNX with dynamic dims, as users do.

Writes, with random weights from a fixed seed:
  bert_dynamic.onnx  BERT-style encoder; inputs input_ids and attention_mask
                     [batch, sequence] (int64), output last_hidden_state
                     [batch, sequence, hidden]; batch and sequence dynamic.
  llama_gqa.onnx     LLaMA-style decoder, 2 layers: RMSNorm, rotary embeddings,
                     grouped-query attention (4 query heads sharing 2 KV heads,
                     repeated with expand + reshape as Hugging Face's repeat_kv
                     does) and the additive causal mask Hugging Face builds
                     (full of finfo.min, masked_fill'ed with 0 on and below the
                     diagonal); input hidden_states [batch, sequence, 64].
  causal_attention.onnx  softmax(q kᵀ / √d, causal mask) v alone, the mask built
                     from Range ops counting from the last key (a KV cache in
                     front); inputs q, k, v [1, 2, queries | keys, 16].
  dsa_decoder.onnx   a decoder layer with DeepSeek Sparse Attention as its
                     reference code writes it: a lightning indexer (ReLU'd
                     q_I k_I products weighted per indexer head) scores past
                     tokens, TopK picks 8 per query, a -inf mask gets 0 scattered
                     at those keys and is added, with the causal mask, to the
                     scores; input hidden_states [batch, sequence >= 8, 64].
  nsa_decoder.onnx   a decoder layer with Native Sparse Attention written in
                     plain PyTorch: compressed blocks (a learned map of each
                     block of 8 keys / values), block selection (the compressed
                     probabilities summed over heads score the blocks, TopK keeps
                     3 with the initial and current block forced in, a -inf block
                     mask expanded to keys plus the causal mask), a 16-key
                     window, and learned sigmoid gates mixing the three; input
                     hidden_states [batch, 64, 64] (sequence fixed at export).
  gpt_kv.onnx        GPT-style decoder with a KV cache, in the layout decoder
                     exporters produce: inputs input_ids [batch, sequence] and
                     past_key_values.{i}.key/value [batch, heads, past, head_dim];
                     outputs logits [batch, sequence, vocab] and
                     present.{i}.key/value [batch, heads, past + sequence,
                     head_dim]. Past length 0 is prefill.

With --only, also the benchmark models (too large to check in; bench/
precision.py exports them into a scratch directory):
  resnet.onnx        ResNet-18-style CNN (basic blocks, batch norm), input
                     [batch, 3, 224, 224], output logits [batch, 1000].
  llama_layer.onnx   LLaMA-style decoder layer at hidden 2048 (RMSNorm, 16
                     heads with rotary embeddings, causal attention, SwiGLU MLP
                     of 5632), input and output [batch, sequence, 2048].
  bert_base.onnx     the BERT-style encoder at BERT-base size (hidden 768, 12
                     heads, ffn 3072, 12 layers, vocab 30522, 512 positions);
                     inputs and output as bert_dynamic's (~440 MB).
  resnet50.onnx      ResNet-50-style CNN (bottleneck blocks [3, 4, 6, 3], batch
                     norm), input [batch, 3, 224, 224], output logits [batch, 1000].
  llama_stack.onnx   2 of llama_layer's layers with a KV cache in gpt_kv's layout:
                     inputs hidden_states [batch, sequence, 2048] and
                     past_key_values.{i}.key/value [batch, 16, past, 128];
                     outputs output [batch, sequence, 2048] and present.{i}.key/
                     value [batch, 16, past + sequence, 128]. Past length 0 is
                     prefill; rotary positions and the causal mask start at past.
(bench/peers.py exports these into its work directory.)

All go through torch.onnx.export (the TorchScript exporter of PyTorch 1.13,
Debian's python3-torch), so the graphs carry the Shape/Gather/Unsqueeze/Concat
shape arithmetic real exports have. The six small files are checked in under
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
    # A sliding window with sinks, as ds-sparsify-attention's policy defines
    # it: eager runs only (the reference of test_attention.py's sparse GPT;
    # an export with window 0 traces the plain causal mask).
    window = 0
    sinks = 0

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
        if self.window:
            j, d = torch.arange(total)[None, :], (torch.arange(seq) + past)[:, None]
            visible = visible & ((j > d - self.window) | (j < self.sinks))
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


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride, as torchvision's v1.5), 1x1 expand."""
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class ResNet(nn.Module):
    def __init__(self, block=BasicBlock, depths=(2, 2, 2, 2), classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for width, stride, depth in zip([64, 128, 256, 512], [1, 2, 2, 2], depths):
            for i in range(depth):
                blocks.append(block(cin, width, stride if i == 0 else 1))
                cin = width * block.expansion
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class RmsNorm(nn.Module):
    def __init__(self, hidden, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden) + 0.1 * torch.randn(hidden))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class LlamaLayer(nn.Module):
    def __init__(self, hidden=2048, heads=16, ffn=5632):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.norm1, self.norm2 = RmsNorm(hidden), RmsNorm(hidden)
        self.q = nn.Linear(hidden, hidden, bias=False)
        self.k = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, hidden, bias=False)
        self.o = nn.Linear(hidden, hidden, bias=False)
        self.gate = nn.Linear(hidden, ffn, bias=False)
        self.up = nn.Linear(hidden, ffn, bias=False)
        self.down = nn.Linear(ffn, hidden, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.register_buffer("inv_freq", inv)

    def forward(self, x):
        b, s, _ = x.shape
        h = self.norm1(x)
        split = lambda t: t.view(b, s, self.heads, self.head_dim).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        angles = torch.outer(torch.arange(s).float(), self.inv_freq)
        cos = torch.cat([angles, angles], -1).cos()[None, None]
        sin = torch.cat([angles, angles], -1).sin()[None, None]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        causal = torch.arange(s)[None, :] <= torch.arange(s)[:, None]
        scores = scores.masked_fill(~causal, torch.finfo(scores.dtype).min)
        attn = torch.matmul(torch.softmax(scores, -1), v).transpose(1, 2).reshape(b, s, -1)
        x = x + self.o(attn)
        h = self.norm2(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


class LlamaCacheLayer(LlamaLayer):
    """LlamaLayer with a KV cache: the new tokens sit at positions past ..
    past + sequence, for the rotary angles and the causal mask."""

    def forward(self, x, past_key, past_value):
        b, s, _ = x.shape
        h = self.norm1(x)
        split = lambda t: t.view(b, s, self.heads, self.head_dim).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        past = past_key.shape[2]
        angles = torch.outer(torch.arange(s).float() + past, self.inv_freq)
        cos = torch.cat([angles, angles], -1).cos()[None, None]
        sin = torch.cat([angles, angles], -1).sin()[None, None]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        key, value = torch.cat([past_key, k], dim=2), torch.cat([past_value, v], dim=2)
        scores = torch.matmul(q, key.transpose(-1, -2)) / math.sqrt(self.head_dim)
        visible = torch.arange(past + s)[None, :] <= (torch.arange(s) + past)[:, None]
        scores = scores.masked_fill(~visible, torch.finfo(scores.dtype).min)
        attn = torch.matmul(torch.softmax(scores, -1), value).transpose(1, 2).reshape(b, s, -1)
        x = x + self.o(attn)
        h = self.norm2(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h)), key, value


class LlamaStack(nn.Module):
    def __init__(self, layers=2):
        super().__init__()
        self.layers = nn.ModuleList(LlamaCacheLayer() for _ in range(layers))

    def forward(self, x, *past):
        presents = []
        for i, layer in enumerate(self.layers):
            x, key, value = layer(x, past[2 * i], past[2 * i + 1])
            presents += [key, value]
        return (x, *presents)


def repeat_kv(x, n_rep):
    b, kv_heads, s, d = x.shape
    x = x[:, :, None, :, :].expand(b, kv_heads, n_rep, s, d)
    return x.reshape(b, kv_heads * n_rep, s, d)


class GqaLayer(nn.Module):
    """A LLaMA layer with grouped-query attention, written as Hugging Face does."""

    def __init__(self, hidden=64, heads=4, kv_heads=2, ffn=128):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.norm1, self.norm2 = RmsNorm(hidden), RmsNorm(hidden)
        self.q = nn.Linear(hidden, hidden, bias=False)
        self.k = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.v = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.o = nn.Linear(hidden, hidden, bias=False)
        self.gate = nn.Linear(hidden, ffn, bias=False)
        self.up = nn.Linear(hidden, ffn, bias=False)
        self.down = nn.Linear(ffn, hidden, bias=False)

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        h = self.norm1(x)
        q = self.q(h).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(h).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(h).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        n_rep = self.heads // self.kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        attn = torch.matmul(torch.softmax(scores, dim=-1), v)
        x = x + self.o(attn.transpose(1, 2).reshape(b, s, -1))
        h = self.norm2(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


class LlamaGqa(nn.Module):
    def __init__(self, hidden=64, heads=4, kv_heads=2, layers=2):
        super().__init__()
        self.head_dim = hidden // heads
        self.layers = nn.ModuleList(GqaLayer(hidden, heads, kv_heads) for _ in range(layers))
        inv = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.register_buffer("inv_freq", inv)

    def forward(self, x):
        s = x.shape[1]
        angles = torch.outer(torch.arange(s).float(), self.inv_freq)
        cos = torch.cat([angles, angles], -1).cos()[None, None]
        sin = torch.cat([angles, angles], -1).sin()[None, None]
        # Hugging Face's _make_causal_mask: 0 on and below the diagonal.
        mask = torch.full((s, s), torch.finfo(x.dtype).min)
        cond = torch.arange(s)
        mask = mask.masked_fill(cond < (cond + 1).view(s, 1), 0)[None, None]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return x


class CausalAttention(nn.Module):
    def forward(self, q, k, v):
        s, total = q.shape[2], k.shape[2]
        visible = torch.arange(total)[None, :] <= (torch.arange(s) + (total - s))[:, None]
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(~visible, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1), v)


def export_causal_attention(path):
    q, kv = torch.randn(1, 2, 8, 16), torch.randn(1, 2, 8, 16)
    torch.onnx.export(CausalAttention(), (q, kv, kv), path, input_names=["q", "k", "v"],
                      output_names=["out"], opset_version=17,
                      dynamic_axes={"q": {2: "queries"}, "k": {2: "keys"}, "v": {2: "keys"},
                                    "out": {2: "queries"}})


class DsaDecoder(nn.Module):
    """Attention whose keys a lightning indexer selects (DSA, DeepSeek-V3.2)."""

    def __init__(self, hidden=64, heads=4, index_heads=2, index_dim=16, topk=8):
        super().__init__()
        self.heads, self.head_dim, self.topk = heads, hidden // heads, topk
        self.index_heads, self.index_dim = index_heads, index_dim
        self.q = nn.Linear(hidden, hidden, bias=False)
        self.k = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, hidden, bias=False)
        self.o = nn.Linear(hidden, hidden, bias=False)
        self.index_q = nn.Linear(hidden, index_heads * index_dim, bias=False)
        self.index_k = nn.Linear(hidden, index_dim, bias=False)
        self.index_w = nn.Linear(hidden, index_heads, bias=False)

    def forward(self, x):
        b, s, _ = x.shape
        split = lambda t: t.view(b, s, self.heads, self.head_dim).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        causal = torch.full((s, s), float("-inf")).triu(1)
        # Lightning indexer: I[t, u] = sum_j w[t, j] relu(q_I[t, j] . k_I[u]).
        qi = self.index_q(x).view(b, s, self.index_heads, self.index_dim)
        ki = self.index_k(x)
        logits = torch.relu(torch.einsum("bthd,bud->bthu", qi, ki))
        index_scores = (logits * self.index_w(x)[..., None]).sum(2) + causal
        chosen = index_scores.topk(self.topk, dim=-1).indices
        index_mask = torch.full((b, s, s), float("-inf")).scatter(-1, chosen, 0.0) + causal
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        attn = torch.softmax(scores + index_mask[:, None], dim=-1)
        return x + self.o(torch.matmul(attn, v).transpose(1, 2).reshape(b, s, -1))


class NsaDecoder(nn.Module):
    """Native Sparse Attention (Yuan et al. 2025) as a pure PyTorch layer:
    three branches over the same queries, mixed by learned per-head gates.
    Compression: each block of `block` keys / values becomes one compressed
    key / value through a learned linear map of the block (with an
    intra-block position embedding); queries attend to the compressed blocks
    that end at or before them. Selection: the compressed attention
    probabilities, summed over the heads, score the blocks; every query keeps
    the initial and its own block and the `select` best-scoring earlier ones
    (TopK), expanded to their keys, under the causal mask. Window: the last
    `window` keys. Sequence length fixed at export (`sequence`)."""

    def __init__(self, hidden=64, heads=4, block=8, select=3, window=16, sequence=64):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.block, self.select, self.window, self.sequence = block, select, window, sequence
        self.q = nn.Linear(hidden, hidden, bias=False)
        self.k = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, hidden, bias=False)
        self.o = nn.Linear(hidden, hidden, bias=False)
        self.position = nn.Parameter(torch.randn(block, self.head_dim) * 0.1)
        self.compress_k = nn.Linear(block * self.head_dim, self.head_dim)
        self.compress_v = nn.Linear(block * self.head_dim, self.head_dim)
        self.gate = nn.Linear(hidden, 3 * heads)

    def forward(self, x):
        b, s, _ = x.shape
        h, d, blk, nb = self.heads, self.head_dim, self.block, self.sequence // self.block
        split = lambda t: t.view(b, s, h, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scale = 1 / math.sqrt(d)
        # f32 masks (a Python float in torch.where exports as a double).
        pick = lambda c, yes, no: torch.where(c, torch.tensor(yes), torch.tensor(no))
        # Compression branch: block j is visible to query t once it ended,
        # (j + 1) * block - 1 <= t; rows with none visible see nothing (-1e4).
        pos = torch.arange(s)
        ends = torch.arange(nb) * blk + blk - 1
        compressed_mask = pick(ends[None, :] <= pos[:, None], 0.0, -1e4)
        blocks = lambda t: (t.reshape(b, h, nb, blk, d) + self.position).reshape(b, h, nb, blk * d)
        kc, vc = self.compress_k(blocks(k)), self.compress_v(blocks(v))
        p_cmp = torch.softmax(torch.matmul(q, kc.transpose(2, 3)) * scale + compressed_mask, -1)
        o_cmp = torch.matmul(p_cmp, vc) * (pos >= blk - 1)[:, None].to(x.dtype)
        # Selection branch: block scores from the compressed probabilities;
        # the initial and the current block always in, later blocks never.
        current = pos // blk
        block_ids = torch.arange(nb)
        forced = (block_ids[None, :] == 0) | (block_ids[None, :] == current[:, None])
        later = block_ids[None, :] > current[:, None]
        importance = p_cmp.sum(1) + pick(forced, 1e4, 0.0) + pick(later, -1e4, 0.0)
        chosen = importance.topk(self.select, dim=-1).indices
        block_mask = torch.full((b, s, nb), float("-inf")).scatter(-1, chosen, 0.0)
        causal = torch.full((s, s), float("-inf")).triu(1)
        token_mask = block_mask[..., None].expand(b, s, nb, blk).reshape(b, s, s) + causal
        scores = torch.matmul(q, k.transpose(2, 3)) * scale
        o_slc = torch.matmul(torch.softmax(scores + token_mask[:, None], -1), v)
        # Window branch.
        band = (pos[None, :] <= pos[:, None]) & (pos[None, :] > pos[:, None] - self.window)
        window_mask = pick(band, 0.0, float("-inf"))
        o_win = torch.matmul(torch.softmax(scores + window_mask, -1), v)
        # Gated sum, per head.
        g = torch.sigmoid(self.gate(x)).view(b, s, h, 3).permute(0, 2, 1, 3)
        o = g[..., 0:1] * o_cmp + g[..., 1:2] * o_slc + g[..., 2:3] * o_win
        return x + self.o(o.transpose(1, 2).reshape(b, s, -1))


def export_nsa_decoder(path):
    axes = {0: "batch"}
    torch.onnx.export(NsaDecoder().eval(), torch.randn(2, 64, 64), path,
                      input_names=["hidden_states"], output_names=["output"], opset_version=17,
                      dynamic_axes={"hidden_states": axes, "output": axes})


def export_dsa_decoder(path):
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(DsaDecoder().eval(), torch.randn(2, 12, 64), path,
                      input_names=["hidden_states"], output_names=["output"], opset_version=17,
                      dynamic_axes={"hidden_states": axes, "output": axes})


def export_resnet(path, model=None):
    model = (model or ResNet()).eval()
    with torch.no_grad():  # batch-norm statistics that are not the identity
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), path, input_names=["pixels"],
                      output_names=["logits"], opset_version=17,
                      dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}})


def export_llama_layer(path):
    model = LlamaLayer().eval()
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, torch.randn(1, 8, 2048), path, input_names=["hidden_states"],
                      output_names=["output"], opset_version=17,
                      dynamic_axes={"hidden_states": axes, "output": axes})


def export_llama_gqa(path):
    model = LlamaGqa().eval()
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, torch.randn(2, 7, 64), path, input_names=["hidden_states"],
                      output_names=["output"], opset_version=17,
                      dynamic_axes={"hidden_states": axes, "output": axes})


def export_bert(path, **size):
    model = Bert(**size).eval()
    ids = torch.randint(0, 100, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"], opset_version=17,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                    "last_hidden_state": axes})


def export_gpt(path, layers=2, heads=4, head_dim=16, model=None):
    if model is None:
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


def export_llama_stack(path, layers=2, heads=16, head_dim=128):
    model = LlamaStack(layers).eval()
    # Traced with a non-empty past, so no dim is specialized to 0.
    x = torch.randn(1, 3, heads * head_dim)
    past = [torch.randn(1, heads, 5, head_dim) for _ in range(2 * layers)]
    names, outputs = ["hidden_states"], ["output"]
    axes = {"hidden_states": {0: "batch", 1: "sequence"}, "output": {0: "batch", 1: "sequence"}}
    for i in range(layers):
        for kind in ("key", "value"):
            names.append(f"past_key_values.{i}.{kind}")
            axes[names[-1]] = {0: "batch", 2: "past_sequence"}
            outputs.append(f"present.{i}.{kind}")
            axes[outputs[-1]] = {0: "batch", 2: "total_sequence"}
    torch.onnx.export(model, (x, *past), path, input_names=names, output_names=outputs,
                      opset_version=17, dynamic_axes=axes)


EXPORTS = {"bert_dynamic": export_bert, "gpt_kv": lambda path: export_gpt(path),
           "llama_gqa": export_llama_gqa, "causal_attention": export_causal_attention,
           "dsa_decoder": export_dsa_decoder, "nsa_decoder": export_nsa_decoder,
           "resnet": export_resnet, "llama_layer": export_llama_layer,
           "bert_base": lambda path: export_bert(path, vocab=30522, hidden=768, heads=12,
                                                 ffn=3072, layers=12),
           "resnet50": lambda path: export_resnet(path, ResNet(Bottleneck, (3, 4, 6, 3))),
           "llama_stack": export_llama_stack}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", nargs="+", choices=sorted(EXPORTS),
                        default=["bert_dynamic", "gpt_kv", "llama_gqa", "causal_attention", "dsa_decoder",
                                 "nsa_decoder"])
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    for name in args.only:
        EXPORTS[name](os.path.join(args.out, name + ".onnx"))


if __name__ == "__main__":
    main()
