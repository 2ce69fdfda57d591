#!/usr/bin/env python3
"""Generate small exporter-style ONNX models with random weights for ds tests.

Writes by default cnn.onnx (ResNet-style), mobilenet.onnx (MobileNetV3-style:
HardSwish, depthwise convs, squeeze-excite with HardSigmoid), bert.onnx
(BERT-style encoder), gpt.onnx (GPT-style decoder with causal mask and tied LM
head) and llama.onnx (LLaMA-style block: RMSNormalization, RotaryEmbedding, GQA
Attention, SwiGLU; opset 23).

Only on request (--only bert_base): bert_base.onnx, the same encoder at BERT-base
size (hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 30522, sequence
128; ~440 MB) for benchmarking.

The graphs mimic what the PyTorch exporter emits (Linear as MatMul + Add,
Reshape/Transpose for heads, GELU spelled out elementwise, scoped node names
such as "/encoder/layer.0/attention/MatMul") so the importer sees realistic input.
Every default model is checked with onnx.checker and strict shape inference
before it is saved (bert_base: onnx.checker on the saved file); weights come
from a fixed seed, so the output is reproducible.

Usage: gen_models.py --out DIR [--only NAME ...] [--verify]
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# IR version paired with each default-domain opset we emit (see
# onnx.helper.VERSION_TABLE); pinned so older runtimes can load the files.
IR_FOR_OPSET = {17: 8, 23: 11}


class GraphBuilder:
    """Small helper that builds a graph the way an exporter names things."""

    def __init__(self, name, seed):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []
        self.scopes = []
        self.used_names = set()

    # -- naming -------------------------------------------------------------
    def scope(self, name):
        builder = self

        class _Scope:
            def __enter__(self):
                builder.scopes.append(name)

            def __exit__(self, *exc):
                builder.scopes.pop()

        return _Scope()

    def _node_name(self, op_type):
        base = "/" + "/".join(self.scopes + [op_type])
        name, i = base, 0
        while name in self.used_names:
            i += 1
            name = f"{base}_{i}"
        self.used_names.add(name)
        return name

    # -- graph pieces -------------------------------------------------------
    def input(self, name, elem_type, shape):
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def output(self, value, name, elem_type, shape):
        """Declare a graph output; renames the producing node's output."""
        for node in self.nodes:
            for i, out in enumerate(node.output):
                if out == value:
                    node.output[i] = name
            for i, inp in enumerate(node.input):
                if inp == value:
                    node.input[i] = name
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def init(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, shape, std):
        data = self.rng.normal(0.0, std, size=shape).astype(np.float32)
        return self.init(name, data)

    def ones(self, name, shape, jitter=0.0):
        data = np.ones(shape, np.float32)
        if jitter:
            data += self.rng.normal(0.0, jitter, size=shape).astype(np.float32)
        return self.init(name, data)

    def zeros(self, name, shape, jitter=0.0):
        data = np.zeros(shape, np.float32)
        if jitter:
            data += self.rng.normal(0.0, jitter, size=shape).astype(np.float32)
        return self.init(name, data)

    def op(self, op_type, inputs, num_outputs=1, **attrs):
        name = self._node_name(op_type)
        outs = [f"{name}_output_{i}" for i in range(num_outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0] if num_outputs == 1 else outs

    def const(self, value, dtype=np.float32):
        """A Constant node, as exporters emit for scalars and shapes."""
        array = np.asarray(value, dtype=dtype)
        return self.op("Constant", [], value=numpy_helper.from_array(array))

    def linear(self, x, in_dim, out_dim, prefix, bias=True, std=0.02):
        """torch.nn.Linear on a 3-D input: MatMul with W^T, then Add bias."""
        w = self.weight(f"{prefix}.weight_T", [in_dim, out_dim], std)
        y = self.op("MatMul", [x, w])
        if bias:
            b = self.zeros(f"{prefix}.bias", [out_dim], jitter=0.02)
            y = self.op("Add", [b, y])
        return y

    def layer_norm(self, x, dim, prefix, eps):
        g = self.ones(f"{prefix}.weight", [dim], jitter=0.05)
        b = self.zeros(f"{prefix}.bias", [dim], jitter=0.02)
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)

    def model(self, opset, extra_opsets=()):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs)
        opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v)
                                                     for d, v in extra_opsets]
        model = helper.make_model(graph, opset_imports=opsets, ir_version=IR_FOR_OPSET[opset],
                                  producer_name="ds-gen_models", producer_version="1")
        # Add the weights last and drop the builder's copies, so a large model
        # (bert_base) holds its weights in memory once, not three times.
        model.graph.initializer.extend(self.initializers)
        self.initializers.clear()
        model.doc_string = f"ds test model '{self.name}' with random weights"
        return model


# ---------------------------------------------------------------------------
# ResNet-style CNN
# ---------------------------------------------------------------------------
def build_cnn():
    b = GraphBuilder("resnet_tiny", seed=1)
    x = b.input("image", TensorProto.FLOAT, [1, 3, 32, 32])

    def conv_bn(x, cin, cout, k, stride, prefix, relu):
        fan_in = cin * k * k
        w = b.weight(f"{prefix}.conv.weight", [cout, cin, k, k], math.sqrt(2.0 / fan_in))
        pad = k // 2
        y = b.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride],
                 pads=[pad, pad, pad, pad], dilations=[1, 1], group=1)
        scale = b.ones(f"{prefix}.bn.weight", [cout], jitter=0.1)
        bias = b.zeros(f"{prefix}.bn.bias", [cout], jitter=0.05)
        mean = b.zeros(f"{prefix}.bn.running_mean", [cout], jitter=0.1)
        var = b.init(f"{prefix}.bn.running_var",
                     b.rng.uniform(0.5, 1.5, size=[cout]).astype(np.float32))
        y = b.op("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-5, momentum=0.9)
        return b.op("Relu", [y]) if relu else y

    def basic_block(x, cin, cout, stride, prefix):
        with b.scope(prefix):
            with b.scope("conv1"):
                y = conv_bn(x, cin, cout, 3, stride, f"{prefix}.1", relu=True)
            with b.scope("conv2"):
                y = conv_bn(y, cout, cout, 3, 1, f"{prefix}.2", relu=False)
            if stride != 1 or cin != cout:
                with b.scope("downsample"):
                    x = conv_bn(x, cin, cout, 1, stride, f"{prefix}.downsample", relu=False)
            y = b.op("Add", [y, x])
            return b.op("Relu", [y])

    with b.scope("stem"):
        y = conv_bn(x, 3, 16, 3, 1, "stem", relu=True)
        y = b.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = basic_block(y, 16, 16, 1, "layer1")      # [1,16,16,16]
    y = basic_block(y, 16, 32, 2, "layer2")      # [1,32,8,8]
    y = b.op("GlobalAveragePool", [y])           # [1,32,1,1]
    y = b.op("Flatten", [y], axis=1)             # [1,32]
    w = b.weight("fc.weight", [10, 32], 1.0 / math.sqrt(32))
    bias = b.zeros("fc.bias", [10], jitter=0.05)
    y = b.op("Gemm", [y, w, bias], alpha=1.0, beta=1.0, transB=1)
    b.output(y, "logits", TensorProto.FLOAT, [1, 10])
    return b.model(17)


# ---------------------------------------------------------------------------
# MobileNetV3-style CNN
# ---------------------------------------------------------------------------
def build_mobilenet():
    b = GraphBuilder("mobilenet_v3_tiny", seed=6)
    x = b.input("image", TensorProto.FLOAT, [1, 3, 64, 64])

    def conv(x, cin, cout, k, stride, prefix, group=1, bias=False):
        fan_in = (cin // group) * k * k
        w = b.weight(f"{prefix}.weight", [cout, cin // group, k, k], math.sqrt(2.0 / fan_in))
        inputs = [x, w]
        if bias:
            inputs.append(b.zeros(f"{prefix}.bias", [cout], jitter=0.05))
        pad = k // 2
        return b.op("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride],
                    pads=[pad, pad, pad, pad], dilations=[1, 1], group=group)

    def conv_bn(x, cin, cout, k, stride, prefix, act, group=1):
        """Conv2dNormActivation: Conv (no bias) + BatchNormalization + activation."""
        y = conv(x, cin, cout, k, stride, f"{prefix}.0", group=group)
        scale = b.ones(f"{prefix}.1.weight", [cout], jitter=0.1)
        bias = b.zeros(f"{prefix}.1.bias", [cout], jitter=0.05)
        mean = b.zeros(f"{prefix}.1.running_mean", [cout], jitter=0.1)
        var = b.init(f"{prefix}.1.running_var",
                     b.rng.uniform(0.5, 1.5, size=[cout]).astype(np.float32))
        y = b.op("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-3, momentum=0.99)
        return b.op(act, [y]) if act else y

    def squeeze_excite(x, ch, squeeze, prefix):
        s = b.op("GlobalAveragePool", [x])                         # [1,ch,1,1]
        with b.scope("fc1"):
            s = conv(s, ch, squeeze, 1, 1, f"{prefix}.fc1", bias=True)
        s = b.op("Relu", [s])
        with b.scope("fc2"):
            s = conv(s, squeeze, ch, 1, 1, f"{prefix}.fc2", bias=True)
        # torch.nn.Hardsigmoid exports as HardSigmoid(alpha=1/6, beta=0.5).
        s = b.op("HardSigmoid", [s], alpha=1.0 / 6.0, beta=0.5)
        return b.op("Mul", [s, x])

    def inverted_residual(x, cin, exp, cout, stride, act, index):
        """1x1 expand, 3x3 depthwise, squeeze-excite, 1x1 project (+ residual)."""
        p = f"features.{index}.block"
        with b.scope(f"features/features.{index}/block"):
            with b.scope("block.0"):
                y = conv_bn(x, cin, exp, 1, 1, f"{p}.0", act)
            with b.scope("block.1"):
                y = conv_bn(y, exp, exp, 3, stride, f"{p}.1", act, group=exp)
            with b.scope("block.2"):
                y = squeeze_excite(y, exp, exp // 4, f"{p}.2")
            with b.scope("block.3"):
                y = conv_bn(y, exp, cout, 1, 1, f"{p}.3", None)
        if stride == 1 and cin == cout:
            with b.scope(f"features/features.{index}"):
                y = b.op("Add", [y, x])
        return y

    with b.scope("features/features.0"):
        y = conv_bn(x, 3, 16, 3, 2, "features.0", "HardSwish")          # [1,16,32,32]
    y = inverted_residual(y, 16, 64, 16, 1, "Relu", 1)                   # [1,16,32,32]
    y = inverted_residual(y, 16, 64, 24, 2, "HardSwish", 2)              # [1,24,16,16]
    y = inverted_residual(y, 24, 96, 24, 1, "HardSwish", 3)              # [1,24,16,16]
    with b.scope("avgpool"):
        y = b.op("GlobalAveragePool", [y])                               # [1,24,1,1]
    y = b.op("Flatten", [y], axis=1)                                     # [1,24]
    with b.scope("classifier"):
        w = b.weight("classifier.weight", [10, 24], 1.0 / math.sqrt(24))
        bias = b.zeros("classifier.bias", [10], jitter=0.05)
        y = b.op("Gemm", [y, w, bias], alpha=1.0, beta=1.0, transB=1)
    b.output(y, "logits", TensorProto.FLOAT, [1, 10])
    return b.model(17)


# ---------------------------------------------------------------------------
# Transformer pieces shared by BERT and GPT
# ---------------------------------------------------------------------------
def split_heads(b, x, seq, heads, head_dim, perm):
    shape = b.const([1, seq, heads, head_dim], np.int64)
    x = b.op("Reshape", [x, shape])
    return b.op("Transpose", [x], perm=perm)


def merge_heads(b, x, seq, hidden):
    x = b.op("Transpose", [x], perm=[0, 2, 1, 3])
    return b.op("Reshape", [x, b.const([1, seq, hidden], np.int64)])


# ---------------------------------------------------------------------------
# BERT-style encoder
# ---------------------------------------------------------------------------
def build_bert(layers=2, hidden=64, heads=4, seq=16, vocab=100, ffn=256, max_pos=32,
               graph_name="bert_tiny", seed=2):
    b = GraphBuilder(graph_name, seed=seed)
    head_dim = hidden // heads
    ids = b.input("input_ids", TensorProto.INT64, [1, seq])
    mask = b.input("attention_mask", TensorProto.INT64, [1, seq])

    with b.scope("embeddings"):
        word = b.weight("embeddings.word_embeddings.weight", [vocab, hidden], 0.02)
        pos = b.weight("embeddings.position_embeddings.weight", [max_pos, hidden], 0.02)
        tok = b.weight("embeddings.token_type_embeddings.weight", [2, hidden], 0.02)
        pos_ids = b.init("embeddings.position_ids", np.arange(seq, dtype=np.int64)[None, :])
        tok_ids = b.init("embeddings.token_type_ids", np.zeros([1, seq], np.int64))
        with b.scope("word_embeddings"):
            e = b.op("Gather", [word, ids], axis=0)
        with b.scope("token_type_embeddings"):
            t = b.op("Gather", [tok, tok_ids], axis=0)
        e = b.op("Add", [e, t])
        with b.scope("position_embeddings"):
            p = b.op("Gather", [pos, pos_ids], axis=0)
        e = b.op("Add", [e, p])
        with b.scope("LayerNorm"):
            h = b.layer_norm(e, hidden, "embeddings.LayerNorm", 1e-12)

    # Extended attention mask: (1 - mask[:, None, None, :]) * -10000.
    m = b.op("Unsqueeze", [mask, b.const([1], np.int64)])
    m = b.op("Unsqueeze", [m, b.const([2], np.int64)])
    m = b.op("Cast", [m], to=TensorProto.FLOAT)
    m = b.op("Sub", [b.const(1.0), m])
    ext_mask = b.op("Mul", [m, b.const(-10000.0)])

    for i in range(layers):
        p = f"encoder.layer.{i}"
        with b.scope(f"encoder/layer.{i}"):
            with b.scope("attention/self"):
                with b.scope("query"):
                    q = b.linear(h, hidden, hidden, f"{p}.attention.self.query")
                with b.scope("key"):
                    k = b.linear(h, hidden, hidden, f"{p}.attention.self.key")
                with b.scope("value"):
                    v = b.linear(h, hidden, hidden, f"{p}.attention.self.value")
                q = split_heads(b, q, seq, heads, head_dim, [0, 2, 1, 3])
                k = split_heads(b, k, seq, heads, head_dim, [0, 2, 3, 1])
                v = split_heads(b, v, seq, heads, head_dim, [0, 2, 1, 3])
                s = b.op("MatMul", [q, k])
                s = b.op("Div", [s, b.const(math.sqrt(head_dim))])
                s = b.op("Add", [s, ext_mask])
                s = b.op("Softmax", [s], axis=-1)
                ctx = b.op("MatMul", [s, v])
                ctx = merge_heads(b, ctx, seq, hidden)
            with b.scope("attention/output"):
                with b.scope("dense"):
                    a = b.linear(ctx, hidden, hidden, f"{p}.attention.output.dense")
                a = b.op("Add", [a, h])
                with b.scope("LayerNorm"):
                    h = b.layer_norm(a, hidden, f"{p}.attention.output.LayerNorm", 1e-12)
            with b.scope("intermediate"):
                with b.scope("dense"):
                    f = b.linear(h, hidden, ffn, f"{p}.intermediate.dense")
                with b.scope("intermediate_act_fn"):
                    # GELU (erf form): x * 0.5 * (1 + erf(x / sqrt(2)))
                    g = b.op("Div", [f, b.const(math.sqrt(2.0))])
                    g = b.op("Erf", [g])
                    g = b.op("Add", [g, b.const(1.0)])
                    g = b.op("Mul", [f, g])
                    f = b.op("Mul", [g, b.const(0.5)])
            with b.scope("output"):
                with b.scope("dense"):
                    o = b.linear(f, ffn, hidden, f"{p}.output.dense")
                o = b.op("Add", [o, h])
                with b.scope("LayerNorm"):
                    h = b.layer_norm(o, hidden, f"{p}.output.LayerNorm", 1e-12)

    b.output(h, "last_hidden_state", TensorProto.FLOAT, [1, seq, hidden])
    return b.model(17)


def build_bert_base():
    """BERT-base sizes (~110M parameters, ~440 MB) for benchmarking."""
    return build_bert(layers=12, hidden=768, heads=12, seq=128, vocab=30522, ffn=3072,
                      max_pos=512, graph_name="bert_base", seed=5)


# ---------------------------------------------------------------------------
# GPT-style decoder
# ---------------------------------------------------------------------------
def build_gpt(layers=2, hidden=64, heads=4, seq=16, vocab=100, ffn=256, max_pos=32):
    b = GraphBuilder("gpt_tiny", seed=3)
    head_dim = hidden // heads
    ids = b.input("input_ids", TensorProto.INT64, [1, seq])

    wte = b.weight("transformer.wte.weight", [vocab, hidden], 0.02)
    wpe = b.weight("transformer.wpe.weight", [max_pos, hidden], 0.01)
    pos_ids = b.init("transformer.position_ids", np.arange(seq, dtype=np.int64)[None, :])
    with b.scope("transformer/wte"):
        e = b.op("Gather", [wte, ids], axis=0)
    with b.scope("transformer/wpe"):
        p = b.op("Gather", [wpe, pos_ids], axis=0)
    h = b.op("Add", [e, p])

    # Causal mask: lower-triangular ones -> bool, shared by every layer.
    with b.scope("transformer/causal_mask"):
        tri = b.op("Trilu", [b.const(np.ones([seq, seq], np.float32))], upper=0)
        causal = b.op("Cast", [tri], to=TensorProto.BOOL)
    neg = b.const(float(np.finfo(np.float32).min))

    for i in range(layers):
        p = f"transformer.h.{i}"
        with b.scope(f"transformer/h.{i}"):
            with b.scope("ln_1"):
                x = b.layer_norm(h, hidden, f"{p}.ln_1", 1e-5)
            with b.scope("attn"):
                with b.scope("c_attn"):
                    qkv = b.linear(x, hidden, 3 * hidden, f"{p}.attn.c_attn")
                q, k, v = b.op("Split", [qkv, b.const([hidden] * 3, np.int64)],
                               num_outputs=3, axis=2)
                q = split_heads(b, q, seq, heads, head_dim, [0, 2, 1, 3])
                k = split_heads(b, k, seq, heads, head_dim, [0, 2, 1, 3])
                v = split_heads(b, v, seq, heads, head_dim, [0, 2, 1, 3])
                kt = b.op("Transpose", [k], perm=[0, 1, 3, 2])
                s = b.op("MatMul", [q, kt])
                s = b.op("Div", [s, b.const(math.sqrt(head_dim))])
                s = b.op("Where", [causal, s, neg])
                s = b.op("Softmax", [s], axis=-1)
                ctx = b.op("MatMul", [s, v])
                ctx = merge_heads(b, ctx, seq, hidden)
                with b.scope("c_proj"):
                    a = b.linear(ctx, hidden, hidden, f"{p}.attn.c_proj")
            h = b.op("Add", [a, h])
            with b.scope("ln_2"):
                x = b.layer_norm(h, hidden, f"{p}.ln_2", 1e-5)
            with b.scope("mlp"):
                with b.scope("c_fc"):
                    f = b.linear(x, hidden, ffn, f"{p}.mlp.c_fc")
                with b.scope("act"):
                    # gelu_new: 0.5*x*(1 + tanh(sqrt(2/pi) * (x + 0.044715*x^3)))
                    half = b.op("Mul", [f, b.const(0.5)])
                    cube = b.op("Pow", [f, b.const(3.0)])
                    t = b.op("Mul", [cube, b.const(0.044715)])
                    t = b.op("Add", [f, t])
                    t = b.op("Mul", [t, b.const(math.sqrt(2.0 / math.pi))])
                    t = b.op("Tanh", [t])
                    t = b.op("Add", [t, b.const(1.0)])
                    f = b.op("Mul", [half, t])
                with b.scope("c_proj"):
                    f = b.linear(f, ffn, hidden, f"{p}.mlp.c_proj")
            h = b.op("Add", [h, f])

    with b.scope("transformer/ln_f"):
        h = b.layer_norm(h, hidden, "transformer.ln_f", 1e-5)
    with b.scope("lm_head"):
        # Tied head: the same wte initializer feeds the embedding Gather.
        wt = b.op("Transpose", [wte], perm=[1, 0])
        logits = b.op("MatMul", [h, wt])
    b.output(logits, "logits", TensorProto.FLOAT, [1, seq, vocab])
    return b.model(17)


# ---------------------------------------------------------------------------
# LLaMA-style block (opset 23)
# ---------------------------------------------------------------------------
def rope_caches(max_pos, rot_dim, base=10000.0):
    inv_freq = 1.0 / (base ** (np.arange(0, rot_dim, 2, dtype=np.float64) / rot_dim))
    angles = np.outer(np.arange(max_pos, dtype=np.float64), inv_freq)   # [max_pos, rot_dim/2]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def build_llama(hidden=64, q_heads=4, kv_heads=2, head_dim=16, seq=16, ffn=128, max_pos=32):
    b = GraphBuilder("llama_block", seed=4)
    assert q_heads * head_dim == hidden
    x = b.input("hidden", TensorProto.FLOAT, [1, seq, hidden])
    cos, sin = rope_caches(max_pos, head_dim)
    cos_cache = b.init("rotary_emb.cos_cached", cos)
    sin_cache = b.init("rotary_emb.sin_cached", sin)
    pos_ids = b.init("position_ids", np.arange(seq, dtype=np.int64)[None, :])

    with b.scope("input_layernorm"):
        g = b.ones("input_layernorm.weight", [hidden], jitter=0.05)
        n = b.op("RMSNormalization", [x, g], axis=-1, epsilon=1e-6)
    with b.scope("self_attn"):
        with b.scope("q_proj"):
            q = b.linear(n, hidden, q_heads * head_dim, "self_attn.q_proj", bias=False)
        with b.scope("k_proj"):
            k = b.linear(n, hidden, kv_heads * head_dim, "self_attn.k_proj", bias=False)
        with b.scope("v_proj"):
            v = b.linear(n, hidden, kv_heads * head_dim, "self_attn.v_proj", bias=False)
        q = split_heads(b, q, seq, q_heads, head_dim, [0, 2, 1, 3])   # [1,4,16,16]
        k = split_heads(b, k, seq, kv_heads, head_dim, [0, 2, 1, 3])  # [1,2,16,16]
        v = split_heads(b, v, seq, kv_heads, head_dim, [0, 2, 1, 3])  # [1,2,16,16]
        with b.scope("rotary_q"):
            q = b.op("RotaryEmbedding", [q, cos_cache, sin_cache, pos_ids], interleaved=0)
        with b.scope("rotary_k"):
            k = b.op("RotaryEmbedding", [k, cos_cache, sin_cache, pos_ids], interleaved=0)
        a = b.op("Attention", [q, k, v], is_causal=1,
                 scale=1.0 / math.sqrt(head_dim))                      # [1,4,16,16]
        a = merge_heads(b, a, seq, hidden)
        with b.scope("o_proj"):
            a = b.linear(a, hidden, hidden, "self_attn.o_proj", bias=False)
    h = b.op("Add", [x, a])
    with b.scope("post_attention_layernorm"):
        g = b.ones("post_attention_layernorm.weight", [hidden], jitter=0.05)
        n = b.op("RMSNormalization", [h, g], axis=-1, epsilon=1e-6)
    with b.scope("mlp"):
        with b.scope("gate_proj"):
            gate = b.linear(n, hidden, ffn, "mlp.gate_proj", bias=False)
        with b.scope("up_proj"):
            up = b.linear(n, hidden, ffn, "mlp.up_proj", bias=False)
        with b.scope("act_fn"):
            sig = b.op("Sigmoid", [gate])
            silu = b.op("Mul", [gate, sig])
        f = b.op("Mul", [silu, up])
        with b.scope("down_proj"):
            f = b.linear(f, ffn, hidden, "mlp.down_proj", bias=False)
    out = b.op("Add", [h, f])
    b.output(out, "out", TensorProto.FLOAT, [1, seq, hidden])
    return b.model(23)


# Generated by default (the lit tests use these): small, checked strictly.
MODELS = {
    "cnn": build_cnn,
    "mobilenet": build_mobilenet,
    "bert": build_bert,
    "gpt": build_gpt,
    "llama": build_llama,
}

# Generated only when named in --only: full-size benchmark models, too big for
# the strict in-memory checks, so they are checked with onnx.checker on the file.
LARGE_MODELS = {
    "bert_base": build_bert_base,
}


def with_precision(model, elem):
    """The same model computing in float16 or bfloat16: float initializers, Constant
    values, value_info and Cast targets change type, float graph inputs are cast
    down on entry and float outputs back up on exit (the interface stays float32);
    integer tensors stay (bfloat16 models move to opset 22, where every op here takes it).
    For the GPU benchmarks (fp16/bf16 inference of the same architectures)."""
    target = {"f16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}[elem]
    numpy_type = {"f16": np.float16, "bf16": None}[elem]

    def convert(t):
        if t.data_type != TensorProto.FLOAT:
            return t
        values = numpy_helper.to_array(t).astype(np.float32)
        if numpy_type is not None:
            with np.errstate(over="ignore"):  # large mask values become -inf, as intended
                out = numpy_helper.from_array(values.astype(numpy_type), t.name)
        else:  # bfloat16: round to nearest even from the float32 bits
            bits = values.view(np.uint32).astype(np.uint64)
            rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
            out = TensorProto(name=t.name, data_type=target, dims=list(values.shape),
                              raw_data=rounded.tobytes())
        return out

    m = onnx.ModelProto()
    m.CopyFrom(model)
    if elem == "bf16":  # Conv, pooling and others take bfloat16 from opset 22
        for entry in m.opset_import:
            if entry.domain in ("", "ai.onnx") and entry.version < 22:
                entry.version = 22
    g = m.graph
    for i, t in enumerate(g.initializer):
        g.initializer[i].CopyFrom(convert(t))
    for vi in g.value_info:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = target
    for node in g.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                a.t.CopyFrom(convert(a.t))
            if node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = target
    # The graph keeps float32 inputs and outputs, cast at the boundary, so that
    # callers feed and compare the same arrays as for the float32 model.
    def renamed(name):
        return name + ".lowp"
    floats_in = [vi.name for vi in g.input if vi.type.tensor_type.elem_type == TensorProto.FLOAT]
    floats_out = [vi.name for vi in g.output if vi.type.tensor_type.elem_type == TensorProto.FLOAT]
    for node in g.node:
        for i, name in enumerate(node.input):
            if name in floats_in or name in floats_out:
                node.input[i] = renamed(name)
        for i, name in enumerate(node.output):
            if name in floats_out:
                node.output[i] = renamed(name)
    casts_in = [helper.make_node("Cast", [n], [renamed(n)], to=target) for n in floats_in]
    casts_out = [helper.make_node("Cast", [renamed(n)], [n], to=TensorProto.FLOAT) for n in floats_out]
    nodes = casts_in + list(g.node) + casts_out
    del g.node[:]
    g.node.extend(nodes)
    return m


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------
def check(model, name):
    """checker + strict shape inference; every value must get a static shape."""
    onnx.checker.check_model(model, full_check=False)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                                 data_prop=True)
    known = {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for node in model.graph.node:
        for out in node.output:
            vi = known.get(out)
            if vi is None or not vi.type.tensor_type.HasField("shape"):
                raise RuntimeError(f"{name}: no inferred shape for '{out}' ({node.name})")
            for d in vi.type.tensor_type.shape.dim:
                if not d.HasField("dim_value"):
                    raise RuntimeError(f"{name}: non-static shape for '{out}' ({node.name})")
    size = sum(len(t.raw_data) for t in model.graph.initializer)
    if size >= 2 * 1024 * 1024:
        raise RuntimeError(f"{name}: weights are {size} bytes (limit 2 MiB)")


def random_inputs(model, rng):
    feeds = {}
    for vi in model.graph.input:
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        elem = vi.type.tensor_type.elem_type
        if elem == TensorProto.INT64 and vi.name == "attention_mask":
            m = np.ones(shape, np.int64)
            m[..., -3:] = 0                                   # some padding
            feeds[vi.name] = m
        elif elem == TensorProto.INT64:
            feeds[vi.name] = rng.integers(0, 100, size=shape).astype(np.int64)
        else:
            feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def verify_run(path, name):
    """Run the saved model with onnx's reference evaluator (and onnxruntime if present)."""
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(path)
    feeds = random_inputs(model, np.random.default_rng(0))
    ref = ReferenceEvaluator(model).run(None, feeds)
    for vi, value in zip(model.graph.output, ref):
        want = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        if list(value.shape) != want or not np.all(np.isfinite(value)):
            raise RuntimeError(f"{name}: bad reference output {value.shape} (want {want})")
    msg = "reference ok"
    try:
        import onnxruntime as ort  # optional
    except ImportError:
        return msg + ", onnxruntime not installed"
    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:  # older onnxruntime may not know opset 23
        return msg + f", onnxruntime cannot load it ({str(e).splitlines()[0][:80]})"
    got = sess.run(None, feeds)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-4)
    return msg + ", onnxruntime matches"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    ap.add_argument("--only", nargs="+", choices=sorted({**MODELS, **LARGE_MODELS}),
                    help="generate only these (large models such as bert_base are "
                         "generated only when named here)")
    ap.add_argument("--verify", action="store_true",
                    help="also run each model with onnx.reference (and onnxruntime if installed)")
    ap.add_argument("--precision", nargs="+", choices=["f16", "bf16"], default=[],
                    help="also write NAME.f16.onnx / NAME.bf16.onnx, computing in that type "
                         "with float32 inputs and outputs (with_precision)")
    args = ap.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    for name in args.only or MODELS:
        large = name in LARGE_MODELS
        model = (LARGE_MODELS if large else MODELS)[name]()
        if not large:
            check(model, name)
        path = os.path.join(args.out, f"{name}.onnx")
        onnx.save_model(model, path)
        for elem in args.precision:
            variant = with_precision(model, elem)
            onnx.checker.check_model(variant)
            onnx.save_model(variant, os.path.join(args.out, f"{name}.{elem}.onnx"))
        num_nodes = len(model.graph.node)
        del model
        if large:
            onnx.checker.check_model(path)   # by path: no in-memory copy of the weights
        note = ""
        if args.verify:
            note = " (" + verify_run(path, name) + ")"
        print(f"wrote {path}: {num_nodes} nodes, "
              f"{os.path.getsize(path)} bytes{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
