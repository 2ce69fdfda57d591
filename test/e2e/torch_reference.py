"""PyTorch's side of test_torch_autograd.py: run by Debian's /usr/bin/python3
(python3-torch 1.13), not by the interpreter running pytest.

  /usr/bin/python3 -S torch_reference.py MODEL OUT_DIR

builds MODEL (cnn, bert, gpt, llama: small PyTorch modules written the way
such models are written, weights from a fixed seed), exports it with
torch.onnx.export (no constant folding, so initializers keep the parameter
names), and writes OUT_DIR/MODEL.onnx and OUT_DIR/MODEL.npz: the feeds, the
loss's target or labels, the loss, and autograd's gradient of every named
parameter ("grad/<name>"). MODEL lsq: see learned_scales.

-S keeps pip's packages for this interpreter (numpy 2, which PyTorch 1.13
was not built for) off the path; Debian's dist-packages are added back.
"""

import sys

sys.path.append("/usr/lib/python3/dist-packages")

import math  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

BATCH, SEQ, HIDDEN, HEADS, VOCAB = 2, 8, 32, 4, 50


class CNN(nn.Module):
    """Conv + batch norm + ReLU, max pool, depthwise and pointwise convs,
    average pool, a linear classifier."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pointwise = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16 * 4 * 4, 10)
        with torch.no_grad():  # statistics as a trained network has them
            self.bn1.running_mean.uniform_(-0.5, 0.5)
            self.bn1.running_var.uniform_(0.5, 2.0)
            self.bn1.weight.uniform_(0.5, 1.5)
            self.bn1.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.avg_pool2d(F.relu(self.pointwise(self.depthwise(x))), 2)
        return self.fc(x.flatten(1))


class EncoderLayer(nn.Module):
    """Post-norm BERT layer: self-attention under the padding mask, GELU MLP."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(HIDDEN, HIDDEN) for _ in range(3))
        self.o = nn.Linear(HIDDEN, HIDDEN)
        self.ln1, self.ln2 = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.fc, self.out = nn.Linear(HIDDEN, 4 * HIDDEN), nn.Linear(4 * HIDDEN, HIDDEN)

    def forward(self, x, bias):
        b, t, _ = x.shape
        d = HIDDEN // HEADS
        q, k, v = (p(x).reshape(b, t, HEADS, d).transpose(1, 2) for p in (self.q, self.k, self.v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        x = self.ln1(x + self.o((att @ v).transpose(1, 2).reshape(b, t, HIDDEN)))
        return self.ln2(x + self.out(F.gelu(self.fc(x))))


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, HIDDEN)
        self.positions = nn.Embedding(SEQ, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN)
        self.layers = nn.ModuleList(EncoderLayer() for _ in range(2))

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.ln(self.tokens(input_ids) + self.positions(positions))
        bias = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x


class GPTBlock(nn.Module):
    """Pre-norm block: causal self-attention from one fused QKV projection, GELU MLP."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.qkv, self.proj = nn.Linear(HIDDEN, 3 * HIDDEN), nn.Linear(HIDDEN, HIDDEN)
        self.fc, self.out = nn.Linear(HIDDEN, 4 * HIDDEN), nn.Linear(4 * HIDDEN, HIDDEN)
        self.register_buffer("mask", torch.triu(torch.full((SEQ, SEQ), float("-inf")), 1))

    def forward(self, x):
        b, t, _ = x.shape
        d = HIDDEN // HEADS
        q, k, v = self.qkv(self.ln1(x)).split(HIDDEN, dim=2)
        q, k, v = (z.reshape(b, t, HEADS, d).transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d) + self.mask, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, HIDDEN))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, HIDDEN)
        self.positions = nn.Parameter(torch.randn(SEQ, HIDDEN) * 0.02)
        self.blocks = nn.ModuleList(GPTBlock() for _ in range(2))
        self.ln = nn.LayerNorm(HIDDEN)
        self.head = nn.Linear(HIDDEN, VOCAB, bias=False)

    def forward(self, idx):
        x = self.tokens(idx) + self.positions
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


class RMSNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(HIDDEN))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaLayer(nn.Module):
    """RMSNorm, rotary embeddings, grouped-query causal attention (4 query
    heads over 2 key/value heads, repeated as Hugging Face's repeat_kv does),
    SwiGLU MLP."""

    KV_HEADS = 2

    def __init__(self):
        super().__init__()
        d = HIDDEN // HEADS
        self.norm1, self.norm2 = RMSNorm(), RMSNorm()
        self.q = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.k = nn.Linear(HIDDEN, self.KV_HEADS * d, bias=False)
        self.v = nn.Linear(HIDDEN, self.KV_HEADS * d, bias=False)
        self.o = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.gate = nn.Linear(HIDDEN, 64, bias=False)
        self.up = nn.Linear(HIDDEN, 64, bias=False)
        self.down = nn.Linear(64, HIDDEN, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        angles = torch.outer(torch.arange(SEQ).float(), inv)
        self.register_buffer("cos", torch.cat((angles, angles), -1).cos())
        self.register_buffer("sin", torch.cat((angles, angles), -1).sin())
        self.register_buffer("mask", torch.triu(torch.full((SEQ, SEQ), float("-inf")), 1))

    def forward(self, x):
        b, t, _ = x.shape
        d, kv = HIDDEN // HEADS, self.KV_HEADS
        h = self.norm1(x)
        q = self.q(h).reshape(b, t, HEADS, d).transpose(1, 2)
        k = self.k(h).reshape(b, t, kv, d).transpose(1, 2)
        v = self.v(h).reshape(b, t, kv, d).transpose(1, 2)
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        k = k[:, :, None].expand(b, kv, HEADS // kv, t, d).reshape(b, HEADS, t, d)
        v = v[:, :, None].expand(b, kv, HEADS // kv, t, d).reshape(b, HEADS, t, d)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d) + self.mask, dim=-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, t, HIDDEN))
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(LlamaLayer() for _ in range(2))
        self.norm = RMSNorm()

    def forward(self, hidden_states):
        for layer in self.layers:
            hidden_states = layer(hidden_states)
        return self.norm(hidden_states)


def build(name, gen):
    """(module, input names, inputs, loss function name, loss target name, target)."""
    if name == "cnn":
        x = torch.rand(BATCH, 3, 16, 16, generator=gen) * 2 - 1
        labels = torch.randint(0, 10, (BATCH,), generator=gen)
        return CNN(), ["x"], [x], "cross-entropy", "labels", labels
    if name == "bert":
        ids = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
        mask = torch.ones(BATCH, SEQ, dtype=torch.int64)
        mask[1, -3:] = 0
        target = torch.randn(BATCH, SEQ, HIDDEN, generator=gen)
        return Bert(), ["input_ids", "attention_mask"], [ids, mask], "mse", "target", target
    if name == "gpt":
        idx = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
        labels = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
        return GPT(), ["idx"], [idx], "cross-entropy", "labels", labels
    if name == "llama":
        x = torch.randn(BATCH, SEQ, HIDDEN, generator=gen)
        target = torch.randn(BATCH, SEQ, HIDDEN, generator=gen)
        return Llama(), ["hidden_states"], [x], "mse", "target", target
    raise SystemExit(f"unknown model {name}")


def learned_scales(out, scaled):
    """Learned step sizes (LSQ): x (uint8, zero point 128, per-tensor scale)
    and W (int8, per-output-channel scales) fake-quantized by PyTorch's
    learnable fake quantization, multiplied, MSE; grad_factor 1, or with
    `scaled` LSQ's 1/sqrt(N * Qp) (N values per scale, Qp the largest
    integer). The values come from OUT_DIR/lsq_inputs.npz (the test wrote
    the same graph as ONNX QDQ)."""
    data = np.load(f"{out}/lsq_inputs.npz")
    t = {k: torch.tensor(data[k]) for k in data.files}
    w = t["W"].clone().requires_grad_()
    s_x = t["s_x"].reshape(1).clone().requires_grad_()
    s_w = t["s_w"].clone().requires_grad_()
    factor_x = 1.0 / (t["x"].numel() * 255) ** 0.5 if scaled else 1.0
    factor_w = 1.0 / (w.shape[0] * 127) ** 0.5 if scaled else 1.0
    xq = torch._fake_quantize_learnable_per_tensor_affine(
        t["x"], s_x, t["zp_x"].reshape(1).float(), 0, 255, factor_x)
    wq = torch._fake_quantize_learnable_per_channel_affine(
        w, s_w, t["zp_w"].float(), 1, -128, 127, factor_w)
    loss = F.mse_loss(xq @ wq, t["target"])
    loss.backward()
    np.savez(f"{out}/{'lsq_scaled' if scaled else 'lsq'}.npz", loss=loss.detach().numpy(), **{
        "grad/W": w.grad.numpy(), "grad/s_x": s_x.grad.reshape(()).numpy(),
        "grad/s_w": s_w.grad.numpy()})


def main():
    name, out = sys.argv[1], sys.argv[2]
    if name in ("lsq", "lsq_scaled"):
        return learned_scales(out, scaled=name == "lsq_scaled")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model, input_names, inputs, loss_function, target_name, target = build(
        name, torch.Generator().manual_seed(1))
    model.eval()  # batch norm uses its running statistics, as ds's inference graph does
    # PRESERVE keeps the batch norm a node of its own (EVAL folds it into the
    # conv, leaving unnamed weights); the module is in eval mode either way.
    torch.onnx.export(model, tuple(inputs), f"{out}/{name}.onnx", input_names=input_names,
                      output_names=["y"], opset_version=17, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    y = model(*inputs)
    if loss_function == "mse":
        loss = F.mse_loss(y, target)
    else:
        loss = F.cross_entropy(y.reshape(-1, y.shape[-1]), target.reshape(-1))
    loss.backward()
    arrays = {f"feed/{n}": t.numpy() for n, t in zip(input_names, inputs)}
    arrays[f"feed/{target_name}"] = target.numpy()
    arrays["loss"] = loss.detach().numpy()
    arrays["loss_function"] = np.array(loss_function)
    for n, p in model.named_parameters():
        arrays[f"grad/{n}"] = p.grad.numpy()
    np.savez(f"{out}/{name}.npz", **arrays)


if __name__ == "__main__":
    main()
