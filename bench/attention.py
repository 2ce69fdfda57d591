#!/usr/bin/env python3
"""Dense causal attention on the CPU: ds's fused attention against the graph
PyTorch exports, run by onnxruntime and by ds op by op.

The model is exported here by torch.onnx.export (Debian's PyTorch 1.13):
softmax(q kᵀ / √d, causal mask) v with the mask built in the graph from
Range ops, as decoders with a KV cache write it (query i sees keys
j <= i + L - S), dynamic in the query and key lengths. One artifact per
engine serves every length. ds-raise-attention turns the exported
subgraph into one ds.attention (causal counted from the last key), which
runs tiled with an online softmax and skips the hidden key tiles;
raise_attention=False keeps the exported ops (the scores materialized, as
onnxruntime runs them).

Every engine runs in this one process, interleaved, same threads, same
inputs (bench/interleave.py). Rows: prefill at each --lengths (S = L) and a
decode step (S = 1) against --decode-cache keys. Prints a Markdown table of
median ms, ratios to onnxruntime and the largest difference from it; the
peers (onnxruntime, ds on the exported ops) materialize the scores, so they
run up to --peer-max-length only.

A second table: sparse attention (ds-sparsify-attention: a sliding window
plus 4 sink keys, NSA-style block selection, a static block layout of local
blocks and block 0) at the --densities given, each the fraction of the causal
(query, key) pairs computed (closed form, printed), against ds's own fused
dense attention on the same inputs.

A third table: top-k selected keys (ds.sparse_attention, the op
ds-raise-attention makes of DeepSeek Sparse Attention's selection) with
--topk keys per query, random distinct visible keys, against ds's dense
causal attention on the same q, k, v: a decode step against
--decode-cache keys and prefill at each length.

With --nsa LENGTHS, a table of Native Sparse Attention as a model writes it
(utils/export_torch_models.py's NsaDecoder, exported at each length, batch
1: hidden 512, 8 heads of 64, compressed and selected blocks of 64, 16
blocks selected, a 512-key window, learned gates): ds with the selection
branch raised to sparse attention and the window branch to a window, ds on
the exported ops, onnxruntime.

With --models, a fourth: what raising attention buys end to end on the
PyTorch-exported LLaMA-style layer at hidden 2048 (prefill 256) and the
generated BERT-base (sequence 128): ds with ds-raise-attention, ds with
raise_attention=False, onnxruntime.

Usage: bench/attention.py [--threads N] [--runs N] [--heads 8] [--head-dim 128]
                          [--lengths 2048 4096] [--decode-cache 16384] [--no-unfused]
                          [--peer-max-length 8192] [--densities 0.125 0.0625]
                          [--topk 2048] [--models] [--nsa 2048 4096]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

import ds

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interleave import interleaved, ort_session  # noqa: E402

EXPORT = r'''
import sys, torch
sys.path.insert(0, sys.argv[4])
from export_torch_models import CausalAttention
heads, dim = int(sys.argv[2]), int(sys.argv[3])
q = torch.randn(1, heads, 8, dim)
kv = torch.randn(1, heads, 8, dim)
torch.onnx.export(CausalAttention(), (q, kv, kv), sys.argv[1], input_names=["q", "k", "v"],
                  output_names=["out"], opset_version=17,
                  dynamic_axes={"q": {2: "queries"}, "k": {2: "keys"}, "v": {2: "keys"},
                                "out": {2: "queries"}})
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--lengths", type=int, nargs="*", default=[2048, 4096])
    parser.add_argument("--decode-cache", type=int, default=16384)
    parser.add_argument("--no-unfused", action="store_true",
                        help="leave out ds running the exported ops (slow at long lengths)")
    parser.add_argument("--peer-max-length", type=int, default=8192)
    parser.add_argument("--densities", type=float, nargs="*", default=[0.125, 0.0625])
    parser.add_argument("--topk", type=int, default=2048,
                        help="keys per query for the top-k table (0: leave it out)")
    parser.add_argument("--models", action="store_true",
                        help="also BERT-base and the LLaMA layer end to end, raised or not")
    parser.add_argument("--nsa", type=int, nargs="*", default=[],
                        help="also the NSA decoder layer at these sequence lengths")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ds-attention-") as scratch:
        model = os.path.join(scratch, "attention.onnx")
        # The module of utils/export_torch_models.py, at this head count and size.
        subprocess.run(["/usr/bin/python3", "-c", EXPORT, model, str(args.heads),
                        str(args.head_dim), os.path.join(REPO, "utils")], check=True,
                       capture_output=True)
        engines = {"ds": ds.load(model, num_threads=args.threads)}
        if not args.no_unfused:
            engines["ds unfused"] = ds.load(model, num_threads=args.threads,
                                            raise_attention=False)
        reference = ort_session(model, args.threads)
        rng = np.random.default_rng(0)
        cases = [(f"prefill {n}", n, n) for n in args.lengths]
        if args.decode_cache:
            cases.append((f"decode 1 x {args.decode_cache}", 1, args.decode_cache))
        names = list(engines)
        print(f"causal attention, {args.heads} heads, head dim {args.head_dim}, fp32, "
              f"threads {args.threads}, median of {args.runs} interleaved runs\n")
        print("| case | " + " | ".join(f"{n} ms" for n in names) + " | onnxruntime ms | "
              + " | ".join(f"{n} / ort" for n in names) + " | max diff ds vs ort |")
        print("|---" * (2 * len(names) + 3) + "|")
        sink = 4
        sparse_rows = []
        for label, queries, keys in cases:
            shape = lambda n: (1, args.heads, n, args.head_dim)  # noqa: E731
            feeds = {"q": rng.standard_normal(shape(queries), dtype=np.float32),
                     "k": rng.standard_normal(shape(keys), dtype=np.float32),
                     "v": rng.standard_normal(shape(keys), dtype=np.float32)}
            runs = {n: (lambda s=s: s.run(feeds)["out"]) for n, s in engines.items()}
            peers = queries * keys <= args.peer_max_length ** 2
            if peers:
                runs["ort"] = lambda: reference.run(None, feeds)[0]
            else:
                runs = {"ds": runs["ds"]}
            diff = float(np.max(np.abs(runs["ds"]() - runs["ort"]()))) if peers else float("nan")
            ms = {n: t * 1000 for n, t in interleaved(runs, args.runs, warmup=1).items()}
            cell = lambda n, f: f(n) if n in ms else "-"  # noqa: E731
            print(f"| {label} | " + " | ".join(cell(n, lambda n: f"{ms[n]:.1f}") for n in names)
                  + f" | {cell('ort', lambda n: f'{ms[n]:.1f}')} | "
                  + " | ".join(cell(n, lambda n: f"{ms[n] / ms['ort']:.2f}") if peers else "-"
                               for n in names) + f" | {diff:.1e} |", flush=True)
            if queries == keys and args.densities:
                sparse_rows.append((label, feeds, ms["ds"]))
        if sparse_rows:
            sparse_table(model, sparse_rows, sink, args)
        if args.topk:
            topk_table(scratch, cases, rng, args)
        if args.models:
            models_table(scratch, args)
        if args.nsa:
            nsa_table(scratch, args)


def sparse_table(model, sparse_rows, sink, args):
    print(f"\nsparse (ds-sparsify-attention): sliding window + {sink} sink keys, and NSA-style "
          "block selection, against ds's fused dense attention\n")
    print("| case | pattern | density | window / blocks | dense ms | sparse ms | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for label, feeds, dense_ms in sparse_rows:
        n = feeds["q"].shape[2]
        causal_pairs = n * (n + 1) / 2
        for density in args.densities:
            # Window W with `sink` sinks: about n (W + sink) pairs once full.
            window = max(1, int(round(density * causal_pairs / n)) - sink)
            i = np.arange(n)
            pairs = np.minimum(i + 1, window) + np.minimum(sink, np.maximum(i + 1 - window, 0))
            sparse = ds.load(model, num_threads=args.threads, attention_window=window,
                             attention_sinks=sink)
            t = interleaved({"sparse": lambda: sparse.run(feeds)}, args.runs, warmup=1)
            sparse_ms = t["sparse"] * 1000
            print(f"| {label} | window + sinks | {pairs.sum() / causal_pairs:.4f} | {window} | "
                  f"{dense_ms:.1f} | {sparse_ms:.1f} | {dense_ms / sparse_ms:.1f}x |", flush=True)
            # NSA-style block selection of 64-key blocks: about (n + 2) blocks
            # per query (the first, the chosen and the local ones).
            blocks = max(1, int(round(density * causal_pairs / n / 64)) - 2)
            selected = ds.load(model, num_threads=args.threads, attention_select_blocks=blocks,
                               attention_block_size=64)
            t = interleaved({"sparse": lambda: selected.run(feeds)}, args.runs, warmup=1)
            print(f"| {label} | block selection | ~{(blocks + 2) * 64 * n / causal_pairs:.4f} | "
                  f"{blocks} x 64 | {dense_ms:.1f} | {t['sparse'] * 1000:.1f} | "
                  f"{dense_ms / (t['sparse'] * 1000):.1f}x |", flush=True)
            # A static block layout (ds.block_sparse_attention): the `local`
            # 64-key blocks ending at each query block's diagonal and block 0.
            local = max(1, int(round(density * causal_pairs / n / 64)) - 1)
            dims = {name: f"1x{args.heads}x{n}x{args.head_dim}" for name in ("q", "k", "v")}
            layout = ds.load(model, num_threads=args.threads, input_shapes=dims,
                             attention_local_blocks=local, attention_global_blocks=1,
                             attention_block_size=64)
            t = interleaved({"sparse": lambda: layout.run(feeds)}, args.runs, warmup=1)
            print(f"| {label} | block layout | {layout_pairs(n, 64, local) / causal_pairs:.4f} | "
                  f"{local} local + 1 global x 64 | {dense_ms:.1f} | {t['sparse'] * 1000:.1f} | "
                  f"{dense_ms / (t['sparse'] * 1000):.1f}x |", flush=True)


def layout_pairs(n, block, local):
    """Causal (query, key) pairs a layout of the `local` blocks ending at
    the diagonal block plus block 0 keeps (S = L = n)."""
    i = np.arange(n)
    r = i // block
    first = np.maximum(r - local + 1, 0) * block  # keys [first, i] of the local blocks
    pairs = i - first + 1
    pairs += np.where(first > 0, np.minimum(block, first), 0)  # block 0 before them
    return pairs.sum()


def attention_mlir(path, op, heads, dim, extra_operand=""):
    """@main(q, k, v[, idx]) running one attention op, dynamic in the lengths."""
    t = f"tensor<1x{heads}x?x{dim}xf32>"
    idx_arg = ', %idx: tensor<1x1x?x?xi64> {ds.name = "idx"}' if extra_operand else ""
    idx_use = ", %idx" if extra_operand else ""
    idx_type = ", tensor<1x1x?x?xi64>" if extra_operand else ""
    with open(path, "w") as f:
        f.write(f'func.func @main(%q: {t} {{ds.name = "q", ds.dim_symbols = ["", "", "s", ""]}}, '
                f'%k: {t} {{ds.name = "k", ds.dim_symbols = ["", "", "l", ""]}}, '
                f'%v: {t} {{ds.name = "v", ds.dim_symbols = ["", "", "l", ""]}}{idx_arg}) '
                f'-> ({t} {{ds.name = "out"}}) {{\n'
                f"  %0 = {op} %q, %k, %v{idx_use} {{is_causal, causal_from_end}} : "
                f"({t}, {t}, {t}{idx_type}) -> {t}\n  return %0 : {t}\n}}\n")
    return path


def topk_table(scratch, cases, rng, args):
    dense = ds.load(ds.compile(attention_mlir(os.path.join(scratch, "dense.mlir"),
                                              "ds.attention", args.heads, args.head_dim)),
                    num_threads=args.threads)
    sparse = ds.load(ds.compile(attention_mlir(os.path.join(scratch, "topk.mlir"),
                                               "ds.sparse_attention", args.heads, args.head_dim,
                                               extra_operand="idx")),
                     num_threads=args.threads)
    print(f"\ntop-k selected keys (ds.sparse_attention, {args.topk} per query, random distinct "
          "visible keys) against ds's fused dense causal attention\n")
    print("| case | keys per query | dense ms | top-k ms | speed-up |")
    print("|---|---|---|---|---|")
    for label, queries, keys in cases:
        if keys <= args.topk:
            continue
        shape = lambda n: (1, args.heads, n, args.head_dim)  # noqa: E731
        feeds = {"q": rng.standard_normal(shape(queries), dtype=np.float32),
                 "k": rng.standard_normal(shape(keys), dtype=np.float32),
                 "v": rng.standard_normal(shape(keys), dtype=np.float32)}
        # Query i (at key position keys - queries + i) picks among its visible keys.
        idx = np.empty((1, 1, queries, args.topk), np.int64)
        for i in range(queries):
            visible = keys - queries + i + 1
            idx[0, 0, i] = (rng.choice(visible, args.topk, replace=False) if visible > args.topk
                            else np.resize(np.arange(visible), args.topk))
        t = interleaved({"dense": lambda: dense.run(feeds),
                         "topk": lambda: sparse.run({**feeds, "idx": idx})}, args.runs, warmup=1)
        print(f"| {label} | {args.topk} | {t['dense'] * 1000:.1f} | {t['topk'] * 1000:.1f} | "
              f"{t['dense'] / t['topk']:.1f}x |", flush=True)


EXPORT_NSA = r'''
import sys, torch
sys.path.insert(0, sys.argv[3])
from export_torch_models import NsaDecoder
torch.manual_seed(0)
n = int(sys.argv[2])
model = NsaDecoder(hidden=512, heads=8, block=64, select=16, window=512, sequence=n).eval()
torch.onnx.export(model, torch.randn(1, n, 512), sys.argv[1], input_names=["hidden_states"],
                  output_names=["output"], opset_version=17)
'''


def nsa_table(scratch, args):
    print("\nNSA decoder layer (hidden 512, 8 heads of 64; blocks of 64, 16 selected; window "
          "512), batch 1: ds with the selection and window branches raised, ds on the exported "
          "ops, onnxruntime\n")
    print("| sequence | ds raised ms | ds as exported ms | onnxruntime ms | raised / as exported "
          "| raised / ort | max diff raised vs ort |")
    print("|---|---|---|---|---|---|---|")
    for n in args.nsa:
        path = os.path.join(scratch, f"nsa_{n}.onnx")
        subprocess.run(["/usr/bin/python3", "-c", EXPORT_NSA, path, str(n),
                        os.path.join(REPO, "utils")], check=True, capture_output=True)
        feeds = {"hidden_states": np.random.default_rng(n).standard_normal(
            (1, n, 512), dtype=np.float32)}
        raised = ds.load(path, num_threads=args.threads)
        exported = ds.load(path, num_threads=args.threads, raise_attention=False)
        reference = ort_session(path, args.threads)
        runs = {"raised": lambda: raised.run(feeds)["output"],
                "exported": lambda: exported.run(feeds)["output"],
                "ort": lambda: reference.run(None, feeds)[0]}
        diff = float(np.max(np.abs(runs["raised"]() - runs["ort"]())))
        ms = {k: t * 1000 for k, t in interleaved(runs, args.runs, warmup=1).items()}
        print(f"| {n} | {ms['raised']:.1f} | {ms['exported']:.1f} | {ms['ort']:.1f} | "
              f"{ms['raised'] / ms['exported']:.2f} | {ms['raised'] / ms['ort']:.2f} | "
              f"{diff:.1e} |", flush=True)


def models_table(scratch, args):
    sys.path.insert(0, os.path.join(REPO, "test", "e2e"))
    from feeds import feeds_for  # noqa: E402
    subprocess.run(["/usr/bin/python3", os.path.join(REPO, "utils", "export_torch_models.py"),
                    "--out", scratch, "--only", "llama_layer"], check=True, capture_output=True)
    subprocess.run([sys.executable, os.path.join(REPO, "utils", "gen_models.py"), "--out", scratch,
                    "--only", "bert_base"], check=True, stdout=subprocess.DEVNULL)
    models = [("LLaMA layer (PyTorch) 1x256x2048", os.path.join(scratch, "llama_layer.onnx"),
               [("hidden_states", np.float32, [1, 256, 2048])]),
              ("BERT-base (generated) 1x128", os.path.join(scratch, "bert_base.onnx"), None)]
    print("\nend to end: ds with the attention raised, ds with raise_attention=False, "
          "onnxruntime\n")
    print("| model | ds raised ms | ds as exported ms | onnxruntime ms | raised / as exported "
          "| raised / ort | max diff raised vs ort |")
    print("|---|---|---|---|---|---|---|")
    for label, path, inputs in models:
        if inputs is None:
            from feeds import signature  # noqa: E402
            inputs = signature(path)
        feeds = feeds_for(inputs, seed=0)
        raised = ds.load(path, num_threads=args.threads)
        exported = ds.load(path, num_threads=args.threads, raise_attention=False)
        reference = ort_session(path, args.threads)
        name = reference.get_outputs()[0].name
        runs = {"raised": lambda: raised.run(feeds)[name],
                "exported": lambda: exported.run(feeds)[name],
                "ort": lambda: reference.run(None, feeds)[0]}
        diff = float(np.max(np.abs(runs["raised"]() - runs["ort"]())))
        ms = {n: t * 1000 for n, t in interleaved(runs, args.runs).items()}
        print(f"| {label} | {ms['raised']:.1f} | {ms['exported']:.1f} | {ms['ort']:.1f} | "
              f"{ms['raised'] / ms['exported']:.2f} | {ms['raised'] / ms['ort']:.2f} | "
              f"{diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
