#!/usr/bin/env python3
"""Prepares, on a CPU machine with the compiler, what bench/gpu_check.sh needs.

Writes into OUT (default build/gpu-check), small enough to travel to the GPU
machine (no weights beyond the tiny generated models):
  bin/ds-run, bin/ds-runtime-tests   the runtime alone (-DDS_BUILD_COMPILER=OFF: no
                         protobuf, no LLVM; CUDA and OpenBLAS opened at run time, GoogleTest
                         linked in), built here so that the GPU machine builds nothing
  models/*.onnx          gen_models.py's cnn mobilenet bert gpt llama, and single-op
                         GEMM / attention models at benchmark sizes (fp16, bf16)
  artifacts/*.dsx        ds-compile --target=cuda of each: the models in f32 and, through
                         gen_models.with_precision, computing in f16 and bf16
  ref/<model>/*.npy      seeded inputs and onnxruntime-CPU outputs
  dynamic models         the PyTorch exports with dynamic dims (test/e2e/models: BERT with
                         batch x sequence, the KV-cache GPT at prefill and decode steps, the
                         LLaMA block), compiled for CUDA once each and checked at several
                         shapes (one ref/ dir per shape)
  manifest.json          what was built, and what failed to compile and why
"""
import argparse, json, os, subprocess, sys
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "utils"))
MODELS = ["cnn", "mobilenet", "bert", "gpt", "llama"]
GEMMS = [(4096, 4096, 4096)]
ATTENTION = [(1, 32, 8192, 128), (4, 16, 16384, 128)]  # batch, heads, seq, head dim
WINDOWS = [1024]  # sliding windows timed on the f16 attention cases
SELECTIONS = [(16, 64)]  # block selection (blocks chosen, block size), f16 cases
ATTENTION_CHECKS = [(2, 4, 1000, 128, True), (1, 8, 777, 64, False)]  # ... causal
# Dynamic exports: (model, [shape case]); a case names each dynamic input's dims
# ("past" inputs of the decoder take ORT's presents of the case before when
# "feed_back" is set: prefill, then decode steps).
PAST = [f"past_key_values.{l}.{kv}" for l in range(2) for kv in ("key", "value")]
DYNAMIC = [
    ("bert_dynamic", [{"input_ids": (1, 1)}, {"input_ids": (3, 128)}, {"input_ids": (8, 512)}]),
    ("gpt_kv", [dict(input_ids=(1, 6), past=(1, 0)), dict(input_ids=(1, 1), feed_back=True),
                dict(input_ids=(1, 1), feed_back=True), dict(input_ids=(4, 1), past=(4, 200))]),
    ("llama_gqa", [{"hidden_states": (1, 1, 64)}, {"hidden_states": (2, 256, 64)}]),
]


def dynamic_cases(model_name, cases, rng, sess):
    """Seeded feeds per case, and onnxruntime's outputs for them."""
    previous = None
    for case in cases:
        feeds = {}
        for i in sess.get_inputs():
            if i.name in PAST:
                if case.get("feed_back"):
                    feeds[i.name] = previous[i.name.replace("past_key_values", "present")]
                    continue
                b, p = case["past"]
                feeds[i.name] = rng.standard_normal((b, 4, p, 16)).astype(np.float32)
            elif i.name == "attention_mask":
                shape = case["input_ids"]
                mask = np.ones(shape, np.int64)
                mask[:, shape[1] * 3 // 4 + 1:] = 0  # padding at the end of each row
                feeds[i.name] = mask
            elif "int64" in i.type:
                feeds[i.name] = rng.integers(0, 100, size=case[i.name]).astype(np.int64)
            else:
                feeds[i.name] = rng.standard_normal(case[i.name]).astype(np.float32)
        outs = sess.run(None, feeds)
        previous = dict(zip([o.name for o in sess.get_outputs()], outs))
        yield feeds, previous


def gemm_model(m, n, k, elem):
    from onnx import TensorProto, helper
    t = {"f16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}[elem]
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
                          [helper.make_tensor_value_info("a", t, [m, k]),
                           helper.make_tensor_value_info("b", t, [k, n])],
                          [helper.make_tensor_value_info("c", t, [m, n])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])


def attention_reference(qkv, causal):
    """softmax(Q K^T / sqrt(d)) V in float64."""
    q, k, v = (qkv[n].astype(np.float64) for n in ("q", "k", "v"))
    s = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def attention_model(b, h, s, d, elem, causal=True):
    """softmax(Q K^T / sqrt(d)) V, causal by default, as ONNX's Attention op (opset 23)."""
    from onnx import TensorProto, helper
    t = {"f16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}[elem]
    io = [helper.make_tensor_value_info(n, t, [b, h, s, d]) for n in ("q", "k", "v")]
    g = helper.make_graph([helper.make_node("Attention", ["q", "k", "v"], ["o"], is_causal=int(causal))],
                          "attention", io, [helper.make_tensor_value_info("o", t, [b, h, s, d])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])


def build_runtime(out, build_dir):
    """The runtime-only binaries, built and copied (stripped) into OUT/bin."""
    import shutil
    cfg = ["cmake", "-G", "Ninja", "-S", REPO, "-B", build_dir, "-DDS_BUILD_COMPILER=OFF",
           "-DCMAKE_BUILD_TYPE=Release"]
    for var in ("CMAKE_C_COMPILER", "CMAKE_CXX_COMPILER"):
        if os.environ.get(var):
            cfg.append(f"-D{var}={os.environ[var]}")
    subprocess.run(cfg, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build_dir, "ds-run", "ds-runtime-tests"], check=True)
    os.makedirs(os.path.join(out, "bin"), exist_ok=True)
    for name in ("ds-run", "ds-runtime-tests"):
        dst = os.path.join(out, "bin", name)
        shutil.copy2(os.path.join(build_dir, "bin", name), dst)
        subprocess.run(["strip", dst], check=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--runtime-build-dir", default=os.path.join(REPO, "build-gpu-bundle"),
                    help="where the runtime-only binaries are built")
    ap.add_argument("--out", default=os.path.join(REPO, "build", "gpu-check"))
    ap.add_argument("--skip-runtime", action="store_true", help="artifacts only")
    args = ap.parse_args()
    if not args.skip_runtime:
        build_runtime(args.out, args.runtime_build_dir)
    import onnx, onnxruntime as ort
    import gen_models
    compiler = os.path.join(args.build_dir, "bin", "ds-compile")
    for sub in ("models", "artifacts", "ref"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    # f16 / bf16: the same architectures computing in that type (float32 interface).
    variants = {"f32": None, "f16": "f16", "bf16": "bf16"}
    manifest = {"models": [], "failed": [], "variants": sorted(variants)}

    def compile_one(onnx_path, name, kind, elem, extra=()):
        out = os.path.join(args.out, "artifacts", name + ".dsx")
        r = subprocess.run([compiler, onnx_path, "-o", out, "--target=cuda", "--quiet", *extra],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            manifest["failed"].append({"name": name, "why": (r.stderr or r.stdout)[-600:]})
            print(f"  {name}: compile FAILED", file=sys.stderr)
            return None
        print(f"  {name}: ok")
        return os.path.relpath(out, args.out)

    rng = np.random.default_rng(0)
    for model_name in MODELS:
        model = gen_models.MODELS[model_name]()
        path = os.path.join(args.out, "models", model_name + ".onnx")
        onnx.save(model, path)
        feeds = gen_models.random_inputs(model, rng)
        ref = os.path.join(args.out, "ref", model_name)
        os.makedirs(ref, exist_ok=True)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outs = sess.run(None, feeds)
        for k, v in feeds.items():
            np.save(os.path.join(ref, f"in.{k}.npy"), v)
        for o, v in zip(sess.get_outputs(), outs):
            np.save(os.path.join(ref, f"out.{o.name}.npy"), v)
        for elem, precision in variants.items():
            variant_path = path
            if precision:
                variant_path = os.path.join(args.out, "models", f"{model_name}.{elem}.onnx")
                onnx.save(gen_models.with_precision(model, precision), variant_path)
            art = compile_one(variant_path, f"{model_name}.{elem}", "model", elem)
            if art:
                manifest["models"].append({"name": model_name, "kind": "model", "elem": elem,
                                           "artifact": art, "onnx": f"models/{model_name}.onnx",
                                           "ref": f"ref/{model_name}"})
    # Dynamic dims: one artifact per export, run at every case's shapes.
    for model_name, cases in DYNAMIC:
        path = os.path.join(REPO, "test", "e2e", "models", model_name + ".onnx")
        art = compile_one(path, model_name + ".dynamic", "model", "f32")
        if not art:
            continue
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        for k, (feeds, outs) in enumerate(dynamic_cases(model_name, cases, rng, sess)):
            shape = "x".join(str(d) for d in next(iter(feeds.values())).shape)
            ref = os.path.join(args.out, "ref", f"{model_name}.case{k}")
            os.makedirs(ref, exist_ok=True)
            for n, v in feeds.items():
                np.save(os.path.join(ref, f"in.{n}.npy"), v)
            for n, v in outs.items():
                np.save(os.path.join(ref, f"out.{n}.npy"), v)
            manifest["models"].append({"name": f"{model_name} (dynamic) {shape}", "kind": "model",
                                       "elem": "f32", "artifact": art,
                                       "ref": f"ref/{model_name}.case{k}", "no_torch": True})
    # DeepSeek Sparse Attention as its reference code writes it (TopK, a
    # scattered mask): ds.sparse_attention's gather kernel, dims pinned. NSA
    # (exported at 64 tokens, batch free): its selection branch through the
    # gather kernel over the chosen blocks' keys, its window branch through
    # the flash kernel's window (key tiles before the window skipped).
    for name, shape in (("dsa_decoder", (2, 24, 64)), ("dsa_decoder", (1, 200, 64)),
                        ("nsa_decoder", (2, 64, 64)), ("nsa_decoder", (16, 64, 64))):
        path = os.path.join(REPO, "test", "e2e", "models", name + ".onnx")
        label = f"{name}_{'x'.join(map(str, shape))}"
        art = compile_one(path, label, "model", "f32",
                          ["--ds-input-shape=hidden_states:" + "x".join(map(str, shape))])
        if not art:
            continue
        feeds = {"hidden_states": rng.standard_normal(shape).astype(np.float32)}
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        ref = os.path.join(args.out, "ref", label)
        os.makedirs(ref, exist_ok=True)
        np.save(os.path.join(ref, "in.hidden_states.npy"), feeds["hidden_states"])
        for o, v in zip(sess.get_outputs(), sess.run(None, feeds)):
            np.save(os.path.join(ref, f"out.{o.name}.npy"), v)
        manifest["models"].append({"name": label, "kind": "model", "elem": "f32", "artifact": art,
                                   "ref": f"ref/{label}", "no_torch": True})
    # The tensor-core attention kernel against float64 numpy at sizes with
    # many key tiles and query blocks (f16: inputs travel as .npy).
    for b, h, s, d, causal in ATTENTION_CHECKS:
        name = f"attention_check_b{b}h{h}s{s}d{d}{'_causal' if causal else ''}"
        path = os.path.join(args.out, "models", name + ".onnx")
        onnx.save(attention_model(b, h, s, d, "f16", causal), path)
        ref = os.path.join(args.out, "ref", name)
        os.makedirs(ref, exist_ok=True)
        qkv = {n: rng.standard_normal((b, h, s, d)).astype(np.float16) for n in ("q", "k", "v")}
        for n, x in qkv.items():
            np.save(os.path.join(ref, f"in.{n}.npy"), x)
        np.save(os.path.join(ref, "out.o.npy"), attention_reference(qkv, causal).astype(np.float32))
        art = compile_one(path, name, "model", "f16")
        if art:
            manifest["models"].append({"name": name, "kind": "model", "elem": "f16", "artifact": art,
                                       "onnx": f"models/{name}.onnx", "ref": f"ref/{name}",
                                       "no_torch": True})
    for elem in ("f16", "bf16"):
        for m, n, k in GEMMS:
            name = f"gemm_{m}x{n}x{k}.{elem}"
            path = os.path.join(args.out, "models", name + ".onnx")
            onnx.save(gemm_model(m, n, k, elem), path)
            art = compile_one(path, name, "gemm", elem)
            if art:
                manifest["models"].append({"name": name, "kind": "gemm", "elem": elem,
                                           "artifact": art, "shape": [m, n, k]})
        for b, h, s, d in ATTENTION:
            name = f"attention_b{b}h{h}s{s}d{d}.{elem}"
            path = os.path.join(args.out, "models", name + ".onnx")
            onnx.save(attention_model(b, h, s, d, elem), path)
            art = compile_one(path, name, "attention", elem)
            if art:
                manifest["models"].append({"name": name, "kind": "attention", "elem": elem,
                                           "artifact": art, "shape": [b, h, s, d]})
            # The same causal attention with a sliding window (ds-sparsify-
            # attention): the tensor-core kernel reads only the window's tiles.
            for w in WINDOWS if elem == "f16" else ():
                wname = f"attention_b{b}h{h}s{s}d{d}_w{w}.{elem}"
                art = compile_one(path, wname, "attention", elem, [f"--attention-window={w}"])
                if art:
                    manifest["models"].append({"name": wname, "kind": "attention", "elem": elem,
                                               "artifact": art, "shape": [b, h, s, d], "window": w})
            # NSA-style block selection (16 blocks of 64 chosen per query
            # block, in the kernel): timed; torch has no reference for it.
            for n, bs in SELECTIONS if elem == "f16" else ():
                sname = f"attention_b{b}h{h}s{s}d{d}_sel{n}x{bs}.{elem}"
                art = compile_one(path, sname, "attention", elem,
                                  [f"--attention-select-blocks={n}", f"--attention-block-size={bs}"])
                if art:
                    manifest["models"].append({"name": sname, "kind": "attention", "elem": elem,
                                               "artifact": art, "shape": [b, h, s, d],
                                               "select": [n, bs]})
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"{len(manifest['models'])} artifacts, {len(manifest['failed'])} failed -> {args.out}")


if __name__ == "__main__":
    main()
