#!/usr/bin/env python3
"""GPU correctness and benchmarks for bench/gpu_check.sh; writes one Markdown file.

1. Every artifact of prepare_gpu_check.py's manifest that has ORT references:
   ds-CUDA outputs vs onnxruntime-CPU outputs (fp32 / fp16 / bf16 tolerances).
2. Models: ds (Python bindings: includes the host<->device copies of inputs and
   outputs) vs PyTorch eager and torch.compile running the same ONNX graph op by
   op (a small ONNX->torch interpreter; models with unmapped ops say so).
3. GEMM: ds vs torch.matmul (cuBLAS); attention: ds vs F.scaled_dot_product_attention.
   CUDA events, warm-up, median; TFLOP/s and GB/s from the counted work.
"""
import argparse, glob, json, math, os, statistics, sys, time, traceback
import numpy as np

TOL = {"f32": (1e-3, 1e-4), "f16": (2e-2, 2e-2), "bf16": (6e-2, 6e-2)}


def timed(fn, warmup=3, iters=20, budget_s=20.0):
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times, start = [], time.time()
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); b.synchronize()
        times.append(a.elapsed_time(b))
        if time.time() - start > budget_s:
            break
    return statistics.median(times)


def torch_runner(model, device, dtype):
    """The ONNX graph as a torch function (eager); raises KeyError for an unmapped op."""
    import torch, torch.nn.functional as F
    from onnx import numpy_helper, helper
    consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()).to(device)
              for t in model.graph.initializer}
    for k, v in consts.items():
        if v.is_floating_point():
            consts[k] = v.to(dtype)
    nodes = [(n.op_type, list(n.input), list(n.output),
              {a.name: helper.get_attribute_value(a) for a in n.attribute}) for n in model.graph.node]
    outs = [o.name for o in model.graph.output]

    def ln(x, w, b, axis, eps):
        return F.layer_norm(x, x.shape[axis:], w, b, eps)

    def rms(a, x, w):
        axis = a.get("axis", -1) % x.dim()
        dims = tuple(range(axis, x.dim()))
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(dims, keepdim=True) + a.get("epsilon", 1e-5))).to(x.dtype) * w

    def constant(a):
        t = torch.from_numpy(numpy_helper.to_array(a["value"]).copy()).to(device)
        return t.to(dtype) if t.is_floating_point() else t

    def split(a, x, sizes=None):
        axis = a.get("axis", 0)
        if sizes is None:
            sizes = a.get("split") or [x.shape[axis] // a["num_outputs"]] * a["num_outputs"]
        else:
            sizes = sizes.tolist()
        return tuple(torch.split(x, sizes, dim=axis))

    def rotary(a, x, cos, sin, pos=None):
        """ONNX RotaryEmbedding (opset 23) on [B, H, S, D] or [B, S, H*D]."""
        three_d = x.dim() == 3
        if three_d:
            b, s_, hd = x.shape
            x = x.reshape(b, s_, a["num_heads"], hd // a["num_heads"]).transpose(1, 2)
        if pos is not None:
            cos, sin = cos[pos], sin[pos]                     # [B, S, R/2]
        cos, sin = cos.unsqueeze(1).to(x.dtype), sin.unsqueeze(1).to(x.dtype)
        r = a.get("rotary_embedding_dim", 0) or x.shape[-1]
        rot, rest = x[..., :r], x[..., r:]
        if a.get("interleaved", 0):
            x1, x2 = rot[..., 0::2], rot[..., 1::2]
            out = torch.stack((x1 * cos - x2 * sin, x2 * cos + x1 * sin), -1).flatten(-2)
        else:
            x1, x2 = rot[..., : r // 2], rot[..., r // 2:]
            out = torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), -1)
        out = torch.cat((out, rest), -1)
        return out.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1) if three_d else out

    def attention(a, q, k, v, mask=None):
        """ONNX Attention (opset 23), 4-D inputs, through scaled_dot_product_attention."""
        if k.shape[1] != q.shape[1]:                        # grouped-query attention
            k = k.repeat_interleave(q.shape[1] // k.shape[1], 1)
            v = v.repeat_interleave(q.shape[1] // v.shape[1], 1)
        if mask is not None and mask.dtype != torch.bool:
            mask = mask.to(q.dtype)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                              is_causal=bool(a.get("is_causal", 0)),
                                              scale=a.get("scale"))
    ops = {
        "Add": lambda a, x, y: x + y, "Sub": lambda a, x, y: x - y, "Mul": lambda a, x, y: x * y,
        "Div": lambda a, x, y: x / y, "Pow": lambda a, x, y: x ** y, "MatMul": lambda a, x, y: x @ y,
        "Relu": lambda a, x: F.relu(x), "Tanh": lambda a, x: torch.tanh(x),
        "Sigmoid": lambda a, x: torch.sigmoid(x), "Erf": lambda a, x: torch.erf(x),
        "HardSwish": lambda a, x: F.hardswish(x),
        "HardSigmoid": lambda a, x: torch.clamp(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1),
        "Softmax": lambda a, x: torch.softmax(x, a.get("axis", -1)),
        "Transpose": lambda a, x: x.permute(*a["perm"]),
        "Reshape": lambda a, x, s: x.reshape([x.shape[i] if d == 0 else d for i, d in enumerate(s.tolist())]),
        "Flatten": lambda a, x: x.flatten(a.get("axis", 1)) if a.get("axis", 1) == 0 else x.reshape(math.prod(x.shape[:a.get("axis", 1)]), -1),
        "Unsqueeze": lambda a, x, ax: x.reshape([*x.shape] + [1] * 0).unsqueeze(int(ax.flatten()[0])),
        "Gather": lambda a, x, i: torch.index_select(x, a.get("axis", 0), i.flatten()).reshape(*x.shape[:a.get("axis", 0)], *i.shape, *x.shape[a.get("axis", 0) + 1:]),
        "Cast": lambda a, x: x.to(dtype) if a["to"] in (1, 10, 16) else x.long(),
        "Where": lambda a, c, x, y: torch.where(c.bool(), x, y),
        "Gemm": lambda a, x, y, c=None: (a.get("alpha", 1.0) * ((x.T if a.get("transA") else x) @ (y.T if a.get("transB") else y))) + (a.get("beta", 1.0) * c if c is not None else 0),
        "Conv": lambda a, x, w, b=None: F.conv2d(x, w, b, a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0])[:2], a.get("dilations", [1, 1]), a.get("group", 1)),
        "MaxPool": lambda a, x: F.max_pool2d(x, a["kernel_shape"], a.get("strides"), a.get("pads", [0, 0, 0, 0])[:2]),
        "GlobalAveragePool": lambda a, x: x.mean((2, 3), keepdim=True),
        "BatchNormalization": lambda a, x, s, b, m, v: F.batch_norm(x, m, v, s, b, False, 0.0, a.get("epsilon", 1e-5)),
        "LayerNormalization": lambda a, x, w, b=None: ln(x, w, b, a.get("axis", -1), a.get("epsilon", 1e-5)),
        "Trilu": lambda a, x, k=None: (torch.triu if a.get("upper", 1) else torch.tril)(
            x, int(k.item()) if k is not None else 0),
        "Constant": constant, "Split": split, "RMSNormalization": rms,
        "RotaryEmbedding": rotary, "Attention": attention,
    }
    for op, *_ in nodes:
        if op not in ops:
            raise KeyError(op)

    def run(feeds):
        env = dict(consts); env.update(feeds)
        for op, ins, outs_, attrs in nodes:
            args = [env[i] if i else None for i in ins]
            result = ops[op](attrs, *args)
            for name, value in zip(outs_, result if isinstance(result, tuple) else (result,)):
                env[name] = value
        return [env[o] for o in outs]
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=330)
    args = ap.parse_args()
    deadline = time.time() + args.budget_s
    import ds
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    lines = ["# ds GPU check", ""]
    try:
        import torch
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except Exception as e:  # no torch: correctness only
        torch, gpu = None, f"torch unavailable ({e})"
    lines += [f"GPU: {gpu}", ""]
    if manifest.get("failed"):
        lines += ["## Not compiled on the CPU machine", "", "| artifact | why |", "|---|---|"]
        lines += [f"| {f['name']} | {f['why'].strip().splitlines()[-1] if f['why'].strip() else '?'} |"
                  for f in manifest["failed"]]
        lines += [""]

    # 1. correctness against onnxruntime-CPU
    lines += ["## ds-CUDA vs onnxruntime-CPU", "", "| model | precision | result | max abs err |",
              "|---|---|---|---|"]
    sessions, failures = {}, 0
    for e in [m for m in manifest["models"] if m["kind"] == "model"]:
        ref = os.path.join(args.dir, e["ref"])
        feeds = {os.path.basename(p)[3:-4]: np.load(p) for p in glob.glob(os.path.join(ref, "in.*.npy"))}
        try:
            s = ds.load(os.path.join(args.dir, e["artifact"]))
            got = s.run(feeds)
            rtol, atol = TOL[e["elem"]]
            worst, ok = 0.0, True
            for p in glob.glob(os.path.join(ref, "out.*.npy")):
                want = np.load(p); name = os.path.basename(p)[4:-4]
                have = np.asarray(got[name], dtype=np.float64)
                worst = max(worst, float(np.max(np.abs(have - want))) if want.size else 0.0)
                ok &= bool(np.allclose(have, want, rtol=rtol, atol=atol))
            sessions[(e["name"], e["elem"])] = (s, feeds)
            failures += not ok
            lines.append(f"| {e['name']} | {e['elem']} | {'PASS' if ok else 'FAIL'} | {worst:.2e} |")
        except ds.NoDeviceError as err:
            lines.append(f"| {e['name']} | {e['elem']} | {str(err)[:100]} | |")
        except Exception as err:
            failures += 1
            lines.append(f"| {e['name']} | {e['elem']} | ERROR {str(err).splitlines()[0][:100]} | |")
    lines.append("")
    if torch is None or not torch.cuda.is_available():
        lines += ["No GPU: benchmarks skipped.", ""]
        open(args.out, "w").write("\n".join(lines)); print("\n".join(lines))
        return 1 if failures else 0

    # 2. models: ds vs torch eager / torch.compile, batch 1 (the models' own shapes)
    import onnx
    dev = "cuda"
    lines += ["## Models (batch as generated; ms, median)", "",
              "| model | ds f32 | ds fp16 | torch eager fp16 | torch.compile fp16 | ds bf16 | "
              "torch eager bf16 | torch.compile bf16 |", "|---|---|---|---|---|---|---|---|"]

    def ds_ms(name, elem):
        s = sessions.get((name, elem))
        return f"{timed(lambda: s[0].run(s[1]), budget_s=5):.3f}" if s else "n/a"

    for e in [m for m in manifest["models"] if m["kind"] == "model" and m["elem"] == "f32"]:
        if time.time() > deadline - 120:
            lines.append(f"| {e['name']} | (time budget) | | | | | | |"); continue
        row = [e["name"], ds_ms(e["name"], "f32")]
        s_f = sessions.get((e["name"], "f32"))
        model = onnx.load(os.path.join(args.dir, e["onnx"]))
        for elem, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
            row.append(ds_ms(e["name"], elem))
            try:
                run = torch_runner(model, dev, dt)
                feeds = {k: torch.from_numpy(v).to(dev) for k, v in s_f[1].items()} if s_f else {}
                feeds = {k: v.to(dt) if v.is_floating_point() else v for k, v in feeds.items()}
                with torch.no_grad():
                    row.append(f"{timed(lambda: run(feeds), budget_s=5):.3f}")
                    comp = torch.compile(run)
                    row.append(f"{timed(lambda: comp(feeds), warmup=2, budget_s=5):.3f}")
            except KeyError as op:
                row += [f"n/a (op {op} not mapped)", ""]
            except Exception as err:
                row += [f"error: {str(err).splitlines()[0][:60]}", ""]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    # 3. GEMM and attention microbenchmarks
    lines += ["## GEMM and attention", "",
              "| case | ds ms | ds TFLOP/s | torch ms | torch TFLOP/s | torch GB/s |", "|---|---|---|---|---|---|"]
    for e in [m for m in manifest["models"] if m["kind"] in ("gemm", "attention")]:
        if time.time() > deadline - 30:
            lines.append(f"| {e['name']} | (time budget) | | | | |"); continue
        dt = {"f16": torch.float16, "bf16": torch.bfloat16}[e["elem"]]
        try:
            if e["kind"] == "gemm":
                m, n, k = e["shape"]
                flops, nbytes = 2 * m * n * k, 2 * (m * k + k * n + m * n)
                a, b = torch.randn(m, k, device=dev, dtype=dt), torch.randn(k, n, device=dev, dtype=dt)
                t_ms = timed(lambda: torch.matmul(a, b))
                feeds = {"a": a.float().cpu().numpy(), "b": b.float().cpu().numpy()}
            else:
                bsz, h, sq, d = e["shape"]
                flops, nbytes = 2 * 2 * bsz * h * sq * sq * d // 2, 2 * 4 * bsz * h * sq * d  # causal
                q, kk, v = (torch.randn(bsz, h, sq, d, device=dev, dtype=dt) for _ in range(3))
                import torch.nn.functional as F
                t_ms = timed(lambda: F.scaled_dot_product_attention(q, kk, v, is_causal=True))
                feeds = {"q": q.float().cpu().numpy(), "k": kk.float().cpu().numpy(), "v": v.float().cpu().numpy()}
            ds_ms = ds_tf = "n/a"
            try:
                s = ds.load(os.path.join(args.dir, e["artifact"]))
                want = {i["name"]: i["dtype"] for i in s.inputs}
                if "bf16" in want.values():
                    import ml_dtypes
                np_dt = {"f16": np.float16, "bf16": "bfloat16", "f32": np.float32}
                f2 = {k: (v.astype(ml_dtypes.bfloat16) if want[k] == "bf16" else v.astype(np_dt[want[k]]))
                      for k, v in feeds.items()}
                t = timed(lambda: s.run(f2), warmup=2, iters=10)
                ds_ms, ds_tf = f"{t:.3f}", f"{flops / t / 1e9:.1f}"
            except Exception as err:
                ds_ms = f"error: {str(err).splitlines()[0][:60]}"
            lines.append(f"| {e['name']} | {ds_ms} | {ds_tf} | {t_ms:.3f} | {flops / t_ms / 1e9:.1f} | "
                         f"{nbytes / t_ms / 1e6:.0f} |")
        except Exception as err:
            lines.append(f"| {e['name']} | error: {str(err).splitlines()[0][:80]} | | | | |")
    lines += ["", "ds times include the copies of inputs and outputs between host and device "
              "(the runtime's API takes host arrays); torch times are device-resident."]
    open(args.out, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
