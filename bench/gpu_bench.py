#!/usr/bin/env python3
"""GPU correctness and benchmarks for bench/gpu_check.sh (runs on the GPU machine).

ds runs through its own `ds-run` (nothing to build there but the runtime):
1. every model of prepare_gpu_check.py's manifest: ds-CUDA outputs vs onnxruntime-CPU
   outputs (fp32 / fp16 / bf16 tolerances; NaN and inf must sit where the reference has them);
2. device time per run: DS_CUDA_PROFILE=graph times each CUDA Graph replay between two
   events, so it counts the kernels and not the host <-> device copies of inputs and
   outputs (ds-run's own median, which includes them, is reported beside it);
   DS_CUDA_PROFILE=steps lists the kernels that take the time;
3. peers on the same ONNX graphs, device-resident: PyTorch eager and torch.compile
   (a small ONNX->torch interpreter), torch.matmul (cuBLAS) for GEMM and
   F.scaled_dot_product_attention for attention; CUDA events, warm-up, median;
4. GEMM and attention again through the Python API on torch tensors
   (ds.Session.run_device: device-resident, outputs in place, torch's stream),
   checked against torch and timed with CUDA events around the API call.
"""
import argparse, glob, json, math, os, re, statistics, subprocess, sys, tempfile, time
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
    # Integer constants (shapes, axes, indices) stay on the host: reading them
    # back from the device would synchronize and break torch.compile's graphs.
    consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    for k, v in consts.items():
        if v.is_floating_point():
            consts[k] = v.to(device=device, dtype=dtype)
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
        t = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        return t.to(device=device, dtype=dtype) if t.is_floating_point() else t

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
        "Gather": lambda a, x, i: torch.index_select(x, a.get("axis", 0), i.flatten().to(x.device)).reshape(*x.shape[:a.get("axis", 0)], *i.shape, *x.shape[a.get("axis", 0) + 1:]),
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


def ds_run(ds_run_bin, artifact, inputs=(), profile=None, runs=1, warmup=0, output_dir=None,
           timeout=120):
    """(returncode, stdout, stderr) of one ds-run; profile sets DS_CUDA_PROFILE."""
    cmd = [ds_run_bin, artifact, "--runs", str(runs), "--warmup", str(warmup)]
    for name, path in inputs:
        cmd += ["--input", f"{name}={path}"]
    if output_dir:
        cmd += ["--output-dir", output_dir]
    env = dict(os.environ)
    env.pop("DS_CUDA_PROFILE", None)
    if profile:
        env["DS_CUDA_PROFILE"] = profile
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return 124, "", f"ds-run timed out after {timeout} s"


def device_ms(stderr):
    m = re.search(r"device time per run median ([0-9.]+) ms", stderr)
    return float(m.group(1)) if m else None


def host_ms(stdout):
    m = re.search(r"runs: median ([0-9.]+) ms", stdout)
    return float(m.group(1)) if m else None


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return (lines[-1] if lines else "?").replace("|", "/")[:140]


def compare(have, want, rtol, atol):
    """(ok, worst abs error, note): NaN / inf must be where the reference has them."""
    have = np.asarray(have, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if have.shape != want.shape:
        return False, float("nan"), f"shape {have.shape} != {want.shape}"
    if not np.array_equal(np.isnan(have), np.isnan(want)):
        return False, float("nan"), f"{int(np.isnan(have).sum())} NaN where the reference has {int(np.isnan(want).sum())}"
    finite = np.isfinite(want)
    if not np.array_equal(have[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)]):
        return False, float("inf"), "inf placement differs"
    if not np.isfinite(have[finite]).all():
        return False, float("inf"), "non-finite values where the reference is finite"
    err = np.abs(have[finite] - want[finite])
    worst = float(err.max()) if err.size else 0.0
    return bool(np.all(err <= atol + rtol * np.abs(want[finite]))), worst, ""


def attention_flops(e):
    """Multiply-adds x 2 of QK^T and PV over the keys each query sees: half the
    scores under causality, W s - W (W - 1) / 2 of them with a window of W."""
    b, h, s, d = e["shape"]
    w = e.get("window", 0)
    if e.get("select"):  # at most the chosen, first and two local blocks per query
        n, bs = e["select"]
        w = min(s, (n + 3) * bs)
    if w and w < s:
        return 2 * 2 * b * h * d * (w * s - w * (w - 1) // 2)
    return 2 * 2 * b * h * s * s * d // 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="prepare_gpu_check.py's output")
    ap.add_argument("--ds-run", required=True)
    ap.add_argument("--out", required=True, help="Markdown report")
    ap.add_argument("--budget-s", type=float, default=330)
    args = ap.parse_args()
    deadline = time.time() + args.budget_s
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    lines = ["# ds GPU check", ""]
    report_path = args.out

    def flush():
        with open(report_path, "w") as f:
            f.write("\n".join(lines) + "\n")
    try:
        import torch
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        lines += [f"GPU: {gpu}; torch {torch.__version__} (CUDA {torch.version.cuda})", ""]
    except Exception as e:  # no torch: ds alone
        torch = None
        lines += [f"torch unavailable ({e})", ""]
    if manifest.get("failed"):
        lines += ["## Not compiled on the CPU machine", "", "| artifact | why |", "|---|---|"]
        lines += [f"| {f['name']} | {last_line(f['why'])} |" for f in manifest["failed"]]
        lines += [""]

    # 1. correctness against onnxruntime-CPU, and device time of each artifact
    lines += ["## ds-CUDA vs onnxruntime-CPU, and ds device time", "",
              "| model | precision | result | max abs err | ds device ms/run (graph) | ds-run ms (with copies) |",
              "|---|---|---|---|---|---|"]
    failures, timings = 0, {}
    models = [m for m in manifest["models"] if m["kind"] == "model"]
    for e in models:
        ref = os.path.join(args.dir, e["ref"])
        art = os.path.join(args.dir, e["artifact"])
        inputs = [(os.path.basename(p)[3:-4], p) for p in sorted(glob.glob(os.path.join(ref, "in.*.npy")))]
        with tempfile.TemporaryDirectory() as tmp:
            rc, out, err = ds_run(args.ds_run, art, inputs, output_dir=tmp)
            if rc != 0:
                failures += rc != 4
                lines.append(f"| {e['name']} | {e['elem']} | {'NO DEVICE' if rc == 4 else 'ERROR'}: {last_line(err)} | | | |")
                print(err, file=sys.stderr)
                flush()
                continue
            rtol, atol = TOL[e["elem"]]
            ok, worst, notes = True, 0.0, []
            for p in sorted(glob.glob(os.path.join(ref, "out.*.npy"))):
                name = os.path.basename(p)[4:-4]
                got = os.path.join(tmp, name.replace("/", "_") + ".npy")
                if not os.path.exists(got):
                    ok = False; notes.append(f"{name} missing"); continue
                o, w, note = compare(np.load(got), np.load(p), rtol, atol)
                ok &= o; worst = max(worst, w)
                if note:
                    notes.append(f"{name}: {note}")
        rc, out, err = ds_run(args.ds_run, art, inputs, profile="graph", runs=30, warmup=3)
        dev, host = device_ms(err), host_ms(out)
        timings[(e["name"], e["elem"])] = dev
        failures += not ok
        lines.append(f"| {e['name']} | {e['elem']} | {'PASS' if ok else 'FAIL'} {'; '.join(notes)[:120]} | "
                     f"{worst:.2e} | {dev if dev is not None else 'n/a'} | {host if host is not None else last_line(err)} |")
        flush()
    lines.append("")

    # 2. where the time goes: the slowest steps of each model in f16
    lines += ["## Slowest steps (DS_CUDA_PROFILE=steps, eager launches)", "", "```"]
    for e in [m for m in models if m["elem"] == "f16" and not m.get("no_torch")]:
        ref = os.path.join(args.dir, e["ref"])
        inputs = [(os.path.basename(p)[3:-4], p) for p in sorted(glob.glob(os.path.join(ref, "in.*.npy")))]
        rc, out, err = ds_run(args.ds_run, os.path.join(args.dir, e["artifact"]), inputs,
                              profile="steps", runs=10, warmup=2)
        prof = [l for l in err.splitlines() if l.startswith("ds: CUDA profile") or l.startswith("ds:   step")]
        lines += [f"{e['name']} {e['elem']}:"] + prof[:9]
    lines += ["```", ""]
    flush()

    # 3. GEMM and attention: ds device time vs torch (a windowed case against
    # torch's dense causal attention, the work the window saves)
    have_gpu = torch is not None and torch.cuda.is_available()
    lines += ["## GEMM and attention (device-resident, ms; TFLOP/s from the counted work)", "",
              "| case | ds ms | ds TFLOP/s | torch ms | torch TFLOP/s |", "|---|---|---|---|---|"]
    for e in [m for m in manifest["models"] if m["kind"] in ("gemm", "attention")]:
        if time.time() > deadline - 60:
            lines.append(f"| {e['name']} | (time budget) | | | |"); continue
        if e["kind"] == "gemm":
            m, n, k = e["shape"]
            flops = 2 * m * n * k
        else:
            b, h, s, d = e["shape"]
            flops = attention_flops(e)
        rc, out, err = ds_run(args.ds_run, os.path.join(args.dir, e["artifact"]), profile="graph",
                              runs=10, warmup=2, timeout=180)
        dev = device_ms(err)
        ds_cell = f"{dev:.3f} | {flops / dev / 1e9:.1f}" if dev else f"{last_line(err)} | "
        t_cell = "n/a | "
        if have_gpu:
            dt = {"f16": torch.float16, "bf16": torch.bfloat16}[e["elem"]]
            if e["kind"] == "gemm":
                a_, b_ = torch.randn(m, k, device="cuda", dtype=dt), torch.randn(k, n, device="cuda", dtype=dt)
                t = timed(lambda: torch.matmul(a_, b_))
            else:
                import torch.nn.functional as F
                q, kk, v = (torch.randn(b, h, s, d, device="cuda", dtype=dt) for _ in range(3))
                t = timed(lambda: F.scaled_dot_product_attention(q, kk, v, is_causal=True))
                del q, kk, v
            t_cell = f"{t:.3f} | {flops / t / 1e9:.1f}"
        lines.append(f"| {e['name']} | {ds_cell} | {t_cell} |")
        flush()
    lines.append("")

    # 4. models: torch eager and torch.compile, the same graphs, device-resident
    if have_gpu:
        import onnx
        lines += ["## Models: ds device time vs PyTorch (ms per run, median; torch.compile with "
                  "mode=reduce-overhead: CUDA graphs, as ds replays one)", "",
                  "| model | precision | ds | torch eager | torch.compile |", "|---|---|---|---|---|"]
        for e in [m for m in models if m["elem"] in ("f16", "bf16") and not m.get("no_torch")]:
            if time.time() > deadline - 45:
                lines.append(f"| {e['name']} | {e['elem']} | (time budget) | | |"); continue
            dt = {"f16": torch.float16, "bf16": torch.bfloat16}[e["elem"]]
            ref = os.path.join(args.dir, e["ref"])
            feeds = {os.path.basename(p)[3:-4]: torch.from_numpy(np.load(p)).cuda()
                     for p in glob.glob(os.path.join(ref, "in.*.npy"))}
            feeds = {k: v.to(dt) if v.is_floating_point() else v for k, v in feeds.items()}
            cells = [str(timings.get((e["name"], e["elem"])))]
            try:
                run = torch_runner(onnx.load(os.path.join(args.dir, e["onnx"])), "cuda", dt)
                with torch.no_grad():
                    cells.append(f"{timed(lambda: run(feeds), budget_s=3):.4f}")
                    if time.time() < deadline - 90:
                        comp = torch.compile(run, mode="reduce-overhead")  # CUDA graphs, as ds
                        cells.append(f"{timed(lambda: comp(feeds), warmup=2, budget_s=3):.4f}")
                    else:
                        cells.append("(time budget)")
            except KeyError as op:
                cells += [f"n/a (op {op} not mapped)", ""]
            except Exception as err:
                cells += [f"error: {last_line(str(err))[:80]}", ""]
            lines.append(f"| {e['name']} | {e['elem']} | " + " | ".join(cells) + " |")
            flush()
        lines.append("")
    # 5. the same GEMM and attention through the Python API on torch tensors
    # (ds.Session.run_device: DLPack in, outputs written in place, torch's stream)
    if have_gpu:
        lines += ["## Device-resident runs through the Python API (torch tensors in and out)", ""]
        try:
            import ds
        except ImportError as err:
            ds = None
            lines += [f"ds Python package not importable here ({err}): skipped", ""]
        if ds is not None:
            lines += ["| case | matches torch | ds ms | ds TFLOP/s | torch ms |", "|---|---|---|---|---|"]
            import torch.nn.functional as F
            for e in [m for m in manifest["models"] if m["kind"] in ("gemm", "attention")]:
                if time.time() > deadline - 20:
                    lines.append(f"| {e['name']} | (time budget) | | | |"); continue
                dt = {"f16": torch.float16, "bf16": torch.bfloat16}[e["elem"]]
                try:
                    s = ds.Session(os.path.join(args.dir, e["artifact"]))
                    if e["kind"] == "gemm":
                        m, n, k = e["shape"]
                        flops = 2 * m * n * k
                        feeds = {"a": torch.randn(m, k, device="cuda", dtype=dt),
                                 "b": torch.randn(k, n, device="cuda", dtype=dt)}
                        ref = lambda: feeds["a"] @ feeds["b"]
                        tol = 3e-2 * math.sqrt(k)
                    else:
                        b, h, sq, d = e["shape"]
                        flops = attention_flops(e)
                        feeds = {n: torch.randn(b, h, sq, d, device="cuda", dtype=dt) for n in "qkv"}
                        band = None
                        if e.get("window"):  # keys i - W < j <= i, as a boolean mask
                            ones = torch.ones(sq, sq, dtype=torch.bool, device="cuda")
                            band = ones.tril() & ~ones.tril(-e["window"])
                        ref = lambda: F.scaled_dot_product_attention(
                            feeds["q"], feeds["k"], feeds["v"], attn_mask=band, is_causal=band is None)
                        tol = 3e-2
                    outs = s.run_device(feeds)
                    want = got = None
                    if e.get("select"):  # torch has no block selection to compare with
                        ok = "n/a (finite)" if torch.isfinite(next(iter(outs.values()))).all() \
                            else "NO (non-finite output)"
                        failures += ok.startswith("NO")
                    else:
                        want = ref()
                        got = next(iter(outs.values()))
                        err = (got.float() - want.float()).abs().max().item()
                        ok = "yes" if err <= tol else f"NO (max err {err:.3g})"
                        failures += ok != "yes"
                    t = timed(lambda: s.run_device(feeds, outs), warmup=2, iters=10)
                    t_ref = timed(ref, warmup=2, iters=10)
                    lines.append(f"| {e['name']} | {ok} | {t:.3f} | {flops / t / 1e9:.1f} | {t_ref:.3f} |")
                    del s, feeds, outs, want, got
                except Exception as err:
                    failures += 1
                    lines.append(f"| {e['name']} | error: {last_line(str(err))[:100]} | | | |")
                flush()
            lines.append("")
    flush()
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
