#!/usr/bin/env python3
"""ds next to its CPU peers (onnxruntime, OpenVINO, IREE) in one run.

For each model and thread count, every engine gets its own worker process
(so the peak resident memory it reports is that engine's own) and all of
them stay loaded while the parent interleaves their runs: after warm-up
rounds, each round asks every worker in turn, in an order shuffled each
round, to time one run, so the engines take turns on the same cores and
share the machine's drift; only one worker runs at any moment, and each
engine follows each other one about as often (threads an engine leaves
spinning after its run slow whichever runs next). All engines see the same seeded inputs (int64 ids
below the vocabulary, ones for attention masks, standard normal floats);
every output of each engine's first run is compared with onnxruntime's (max
|diff| over the finite values; NaN/inf where the other engine has something
else are counted and flagged).

Models: PyTorch exports (utils/export_torch_models.py, run by Debian's
/usr/bin/python3 which has torch) of BERT-base at sequence 128 and 512, a
2-layer LLaMA stack at hidden 2048 with a KV cache (a 256-token prefill and
a one-token decode step after 256), ResNet-18 and ResNet-50 at 224x224, and
the small generated models of utils/gen_models.py; batch 1. Dynamic dims are
pinned per model: ds compiles with input_shapes, IREE gets a copy of the
ONNX file with static input dims, onnxruntime and OpenVINO load the dynamic
file and run it with the concrete inputs.

Engine settings: onnxruntime intra-op threads = threads, one inter-op
thread, no spinning; OpenVINO CPU with INFERENCE_NUM_THREADS, the LATENCY
hint, one stream and f32 precision (it would pick bf16 on CPUs with AMX or
AVX512-BF16); IREE compiled for llvm-cpu with the host CPU as target, run
on the local-task driver with as many task workers as threads; ds loads the
artifact ds.compile wrote ahead of time, as a deployment does (compiling is
outside the measured process, as IREE's is; onnxruntime and OpenVINO
optimize the graph when they load, inside theirs).

Exports, IREE modules and ds artifacts are cached in --work-dir (rebuilt
when older than the model or the compiler package). An engine that fails
to import, compile, load or run shows its error in its cells.

Prints a Markdown table per thread count; --json also writes every timing.
--runs 0 only loads each engine, runs it once and compares the outputs.

Usage: bench/peers.py [--threads 1,2] [--runs 20] [--warmup 3]
                      [--models bert_base_128,resnet18,...]
                      [--engines ort,openvino,iree,ds]
                      [--work-dir build/bench-peers] [--json out.json]
"""

import argparse
import json
import os
import random
import re
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINES = ["ort", "openvino", "iree", "ds"]
TITLES = {"ort": "ORT", "openvino": "OpenVINO", "iree": "IREE", "ds": "ds"}
TORCH_PYTHON = "/usr/bin/python3"  # Debian's, with torch 1.13 (no onnx module needed)
PAUSE_S = 0.002  # after each run, so the engine's pool is asleep before the next one
LOAD_TIMEOUT_S, RUN_TIMEOUT_S = 3600, 600


@dataclass
class Model:
    source: str  # "torch": export_torch_models.py; "gen": gen_models.py
    file: str  # the name the generator writes, without .onnx
    dims: dict = field(default_factory=dict)  # values of the file's named dynamic dims
    vocab: int = 100  # token ids are drawn below this


MODELS = {
    "bert_base_128": Model("torch", "bert_base", {"batch": 1, "sequence": 128}, vocab=30522),
    "bert_base_512": Model("torch", "bert_base", {"batch": 1, "sequence": 512}, vocab=30522),
    "llama_prefill_256": Model("torch", "llama_stack",
                               {"batch": 1, "sequence": 256, "past_sequence": 0}),
    "llama_decode": Model("torch", "llama_stack",
                          {"batch": 1, "sequence": 1, "past_sequence": 256}),
    "resnet18": Model("torch", "resnet", {"batch": 1}),
    "resnet50": Model("torch", "resnet50", {"batch": 1}),
    "mobilenet": Model("gen", "mobilenet"),
    "cnn": Model("gen", "cnn"),
    "bert": Model("gen", "bert"),
    "gpt": Model("gen", "gpt"),
    "llama": Model("gen", "llama"),
}


class Failed(Exception):
    """A step failed; the message is already short."""


def short_error(text):
    """The line that says what went wrong: a compiler's first "error:" line
    (without its location and the operation it prints), else the last line
    (a traceback's exception)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    for line in lines:
        if " error: " in line or line.startswith("error: "):
            message = line[line.index("error: "):]
            onnx_op = re.search(r'name = "(onnx\.\w+)"', message)
            if "failed to legalize operation 'torch.operator'" in message and onnx_op:
                return f"error: failed to legalize {onnx_op.group(1)}"
            return message.split(": %")[0]
    return lines[-1] if lines else "failed"


def exception_text(e):
    return str(e) if isinstance(e, Failed) else f"{type(e).__name__}: {short_error(e)}"


# -- worker side --------------------------------------------------------------

def load_ort(path, threads, feeds, input_names, output_names):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda: session.run(output_names, feeds)


def load_openvino(path, threads, feeds, input_names, output_names):
    import openvino as ov
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
              "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "f32",
              "DYNAMIC_QUANTIZATION_GROUP_SIZE": 0}
    compiled = ov.Core().compile_model(path, "CPU", config)
    request = compiled.create_infer_request()
    ports = [next((p for p in compiled.outputs if name in p.get_names()), compiled.outputs[i])
             for i, name in enumerate(output_names)]

    def run():
        # Inputs are read in place, outputs come back as copies (as ORT's do).
        result = request.infer(feeds, share_inputs=True, share_outputs=False)
        return [result[p] for p in ports]
    return run


def load_iree(path, threads, feeds, input_names, output_names):
    import iree.runtime as rt
    # Before the driver exists: exactly `threads` task workers (the default
    # topology counts physical cores), which sleep when idle.
    rt.flags.parse_flags(f"--task_topology_group_count={threads}")
    config = rt.Config("local-task")
    context = rt.SystemContext(config=config)
    module = rt.VmModule.mmap(config.vm_instance, path)
    context.add_vm_module(module)
    entry = next(f for f in module.function_names if f != "__init" and "$" not in f)
    function = context.modules.module[entry]
    args = [feeds[name] for name in input_names]

    def run():
        result = function(*args)
        result = result if isinstance(result, (list, tuple)) else [result]
        return [np.asarray(r.to_host()) for r in result]
    return run


def load_ds(path, threads, feeds, input_names, output_names):
    import ds
    session = ds.load(path, num_threads=threads)

    def run():
        out = session.run(feeds)
        return [out[name] for name in output_names]
    return run


LOADERS = {"ort": load_ort, "openvino": load_openvino, "iree": load_iree, "ds": load_ds}


def peak_rss_mib():
    """This process's peak resident memory. On Linux from VmHWM: ru_maxrss
    also keeps the peak of the process that forked this one (the parent's
    memory, carried over by exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker():
    """Serves one engine: JSON requests on stdin, one JSON reply line each."""
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the engine prints goes to the log, not the replies
    sys.stdout = sys.stderr
    run, times = None, []
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["cmd"] == "load":
                with np.load(request["inputs"]) as data:
                    feeds = {name: data[name] for name in request["input_names"]}
                run = LOADERS[request["engine"]](request["path"], request["threads"], feeds,
                                                 request["input_names"], request["output_names"])
                outputs = run()
                np.savez(request["outputs"], **dict(zip(request["output_names"], outputs)))
                reply = {"ok": True}
            elif request["cmd"] == "run":
                for _ in range(request["n"]):
                    start = time.perf_counter()
                    run()
                    if request["record"]:
                        times.append((time.perf_counter() - start) * 1000)
                reply = {"ok": True}
            else:  # report
                reply = {"times_ms": times, "peak_mib": peak_rss_mib()}
        except Exception as e:  # reported in the engine's cells
            reply = {"error": exception_text(e)}
        replies.write(json.dumps(reply) + "\n")
        if request["cmd"] == "report":
            return


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, bufsize=0)

    def ask(self, request, timeout):
        """The reply, or {"error": ...} if the worker died or took too long."""
        line, ready = b"", True
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            ready = select.select([self.proc.stdout], [], [], timeout)[0]
            if ready:
                line = self.proc.stdout.readline()
        except BrokenPipeError:  # it died before: its log says why
            pass
        if line:
            return json.loads(line)
        if not ready:
            self.proc.kill()
            return {"error": f"no reply in {timeout} s"}
        self.proc.wait()
        with open(self.log_path) as log:
            detail = log.read().strip()
        why = f": {short_error(detail)}" if detail else ""
        return {"error": f"worker exited ({self.proc.returncode}){why}"}

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- preparing models (parent side) ------------------------------------------

def export(model, work):
    """The model's ONNX file, exported into work/onnx unless already there."""
    out_dir = os.path.join(work, "onnx")
    path = os.path.join(out_dir, model.file + ".onnx")
    if os.path.exists(path):
        return path
    if model.source == "torch":
        command = [TORCH_PYTHON, os.path.join(REPO, "utils", "export_torch_models.py")]
    else:
        command = [sys.executable, os.path.join(REPO, "utils", "gen_models.py")]
    os.makedirs(out_dir, exist_ok=True)
    # Into a scratch directory first, so an interrupted export leaves no partial file.
    with tempfile.TemporaryDirectory(dir=out_dir) as scratch:
        done = subprocess.run(command + ["--out", scratch, "--only", model.file],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise Failed(f"export of {model.file}: {short_error(done.stderr)}")
        os.replace(os.path.join(scratch, model.file + ".onnx"), path)
    return path


def signature(path, dims):
    """Graph inputs as (name, numpy dtype, pinned shape), and the output names."""
    import onnx
    graph = onnx.load(path, load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}
    inputs = []
    for value in graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims[d.dim_param]
                 for d in tensor.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        inputs.append((value.name, dtype, shape))
    return inputs, [value.name for value in graph.output]


def make_inputs(inputs, vocab, seed=0):
    """Token ids below the vocabulary, attention masks of ones, standard normal floats."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, dtype, shape in inputs:
        if "mask" in name:
            feeds[name] = np.ones(shape, dtype)
        elif np.issubdtype(dtype, np.integer):
            feeds[name] = rng.integers(0, vocab, shape).astype(dtype)
        else:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def package_mtime(module):
    root = os.path.dirname(module.__file__)
    return max(os.path.getmtime(os.path.join(d, f)) for d, _, files in os.walk(root)
               for f in files)


def cached(path, deps_mtime, build):
    """path, rebuilt by build(path) when not newer than deps_mtime; a failure
    is kept as well (in path.error), so a failing compile is not retried each
    time until the model or the compiler changes."""
    fresh = lambda p: os.path.exists(p) and os.path.getmtime(p) > deps_mtime
    error_path = path + ".error"
    if fresh(path):
        return path
    if fresh(error_path):
        with open(error_path) as f:
            raise Failed(f.read())
    try:
        build(path)
    except Exception as e:
        with open(error_path, "w") as f:
            f.write(exception_text(e))
        raise Failed(exception_text(e)) from None
    if os.path.exists(error_path):
        os.remove(error_path)
    return path


def compile_ds(onnx_path, inputs, out_dir):
    import ds
    shapes = {name: tuple(shape) for name, _, shape in inputs}
    return cached(os.path.join(out_dir, "model.dsx"),
                  max(os.path.getmtime(onnx_path), package_mtime(ds)),
                  lambda artifact: ds.compile(onnx_path, artifact, input_shapes=shapes))


def static_copy(onnx_path, inputs, path):
    """The model with its input dims fixed and the other shapes left to
    inference, for IREE's importer (which wants static shapes)."""
    import onnx
    model = onnx.load(onnx_path)
    shapes = {name: shape for name, _, shape in inputs}
    for value in model.graph.input:
        if value.name in shapes:
            for dim, size in zip(value.type.tensor_type.shape.dim, shapes[value.name]):
                dim.Clear()
                dim.dim_value = size
    for value in model.graph.output:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.Clear()  # unknown: the importer's shape inference fills it in
    del model.graph.value_info[:]
    onnx.save(model, path)


def compile_iree(onnx_path, inputs, out_dir):
    import iree.compiler
    return cached(os.path.join(out_dir, "model.vmfb"),
                  max(os.path.getmtime(onnx_path), package_mtime(iree.compiler)),
                  lambda module: build_iree(onnx_path, inputs, out_dir, module))


def build_iree(onnx_path, inputs, out_dir, module):
    import iree.compiler
    static, mlir = os.path.join(out_dir, "static.onnx"), os.path.join(out_dir, "model.mlir")
    static_copy(onnx_path, inputs, static)
    done = subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", static,
                           "-o", mlir], capture_output=True, text=True)
    if done.returncode != 0:
        raise Failed(f"iree-import-onnx: {short_error(done.stderr)}")
    try:
        iree.compiler.compile_file(mlir, output_file=module + ".part", extra_args=[
            "--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
            "--iree-llvmcpu-target-cpu=host"])
        os.replace(module + ".part", module)  # whole or not at all
    except iree.compiler.CompilerToolError as e:
        raise Failed(f"iree-compile: {short_error(e)}") from None
    finally:
        for scratch in (static, mlir, module + ".part"):  # mlir: large, weights inline
            if os.path.exists(scratch):
                os.remove(scratch)


def prepare(name, engines, work):
    """What the workers load: {engine: path or {"error": ...}}, the inputs
    file, the input and output names."""
    model = MODELS[name]
    out_dir = os.path.join(work, name)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = export(model, work)
    inputs, output_names = signature(onnx_path, model.dims)
    inputs_path = os.path.join(out_dir, "inputs.npz")
    np.savez(inputs_path, **make_inputs(inputs, model.vocab))
    compilers = {"ds": compile_ds, "iree": compile_iree}
    paths = {}
    for engine in engines:
        if engine not in compilers:
            paths[engine] = onnx_path
            continue
        try:
            paths[engine] = compilers[engine](onnx_path, inputs, out_dir)
        except Exception as e:
            paths[engine] = {"error": exception_text(e)}
    return {"paths": paths, "inputs": inputs_path, "input_names": [n for n, _, _ in inputs],
            "output_names": output_names, "dir": out_dir}


# -- measuring ----------------------------------------------------------------

def summarize(times):
    times = sorted(times)
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    return {"median_ms": statistics.median(times), "p10_ms": pick(0.1), "p90_ms": pick(0.9)}


def measure(prep, engines, threads, runs, warmup):
    """{engine: {"median_ms", "p10_ms", "p90_ms", "peak_mib", "outputs"} or {"error"}}."""
    results, workers = {}, {}
    for engine in engines:
        path = prep["paths"][engine]
        if isinstance(path, dict):
            results[engine] = path
            continue
        outputs = os.path.join(prep["dir"], f"out.{engine}.t{threads}.npz")
        worker = Worker(os.path.join(prep["dir"], f"{engine}.t{threads}.log"))
        reply = worker.ask({"cmd": "load", "engine": engine, "path": path, "threads": threads,
                            "inputs": prep["inputs"], "outputs": outputs,
                            "input_names": prep["input_names"],
                            "output_names": prep["output_names"]}, LOAD_TIMEOUT_S)
        if "error" in reply:
            results[engine] = reply
            worker.close()
        else:
            workers[engine] = worker
            results[engine] = {"outputs": outputs}
    # Each round in an order shuffled per round (seeded), so that each engine
    # follows each other one about as often: rotating one order had each
    # engine always run right after the same one (without IREE: ds right
    # after OpenVINO, whose threads spin for a while after a run).
    shuffle = random.Random(0).shuffle
    for round_ in range(warmup + runs):
        order = [e for e in engines if e in workers]
        if not order:
            break
        shuffle(order)
        for engine in order:
            reply = workers[engine].ask({"cmd": "run", "n": 1, "record": round_ >= warmup},
                                        RUN_TIMEOUT_S)
            if "error" in reply:
                results[engine] = reply
                workers.pop(engine).close()
            time.sleep(PAUSE_S)
    for engine, worker in workers.items():
        reply = worker.ask({"cmd": "report"}, RUN_TIMEOUT_S)
        worker.close()
        if "error" in reply:
            results[engine] = reply
        else:
            results[engine].update(peak_mib=reply["peak_mib"], times_ms=reply["times_ms"])
            if reply["times_ms"]:  # none with --runs 0, which only loads and compares
                results[engine].update(summarize(reply["times_ms"]))
    return results


def compare(reference_path, path, output_names):
    """Largest |engine - reference| over the finite values of every output,
    and how many values are NaN/inf in one and not the same in the other."""
    worst, worst_output, nonfinite, reference_max = 0.0, None, 0, 0.0
    with np.load(reference_path) as reference, np.load(path) as other:
        for name in output_names:
            a, b = reference[name].astype(np.float64), other[name].astype(np.float64)
            if a.shape != b.shape:
                return {"error": f"{name}: shape {list(b.shape)}, ORT {list(a.shape)}"}
            nonfinite += int(np.count_nonzero((np.isnan(a) != np.isnan(b)) |
                                              ((np.isinf(a) | np.isinf(b)) & (a != b))))
            finite = np.isfinite(a) & np.isfinite(b)
            if finite.any():
                diff = float(np.max(np.abs(a[finite] - b[finite])))
                reference_max = max(reference_max, float(np.max(np.abs(a[finite]))))
                if diff >= worst:
                    worst, worst_output = diff, name
    return {"max_abs_diff": worst, "worst_output": worst_output,
            "nonfinite_mismatches": nonfinite, "ort_max_abs": reference_max}


def bench_model(name, engines, threads, args):
    try:
        prep = prepare(name, engines, args.work_dir)
    except Exception as e:  # the export itself failed: every engine shows it
        error = {"error": exception_text(e)}
        return {"model": name, "threads": threads, "engines": {x: error for x in engines}}
    results = measure(prep, engines, threads, args.runs, args.warmup)
    reference = results.get("ort", {}).get("outputs")
    for engine, result in results.items():
        if engine != "ort" and reference and "outputs" in result:
            try:
                result["diff"] = compare(reference, result["outputs"], prep["output_names"])
            except Exception as e:  # e.g. an output missing from the file
                result["diff"] = {"error": exception_text(e)}
    return {"model": name, "threads": threads, "engines": results}


# -- report -------------------------------------------------------------------

def ms(value):
    digits = 3 if value < 1 else 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f}"


def cell_error(result):
    text = result["error"].replace("|", "\\|")
    return f"error: {text[:90]}{'…' if len(text) > 90 else ''}"


def latency_cell(result):
    if "error" in result:
        return cell_error(result)
    if "median_ms" not in result:
        return "loaded"
    return f"{ms(result['median_ms'])} ({ms(result['p10_ms'])}-{ms(result['p90_ms'])})"


def diff_cell(result):
    if "error" in result:
        return ""
    diff = result.get("diff")
    if diff is None:
        return "n/a"
    if "error" in diff:
        return cell_error(diff)
    text = f"{diff['max_abs_diff']:.1e}"
    if diff["nonfinite_mismatches"]:
        text += f" (NaN/inf differ: {diff['nonfinite_mismatches']})"
    return text


def table(rows, engines):
    peers = [e for e in engines if e != "ds"] if "ds" in engines else []
    header = (["model"] + [TITLES[e] for e in engines] + [f"ds/{TITLES[p]}" for p in peers] +
              [f"{TITLES[e]} MiB" for e in engines] +
              [f"{TITLES[e]} diff" for e in engines if e != "ort"])
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row in rows:
        r = row["engines"]
        ok = lambda e: "median_ms" in r[e]
        cells = [row["model"]] + [latency_cell(r[e]) for e in engines]
        cells += [f"{r['ds']['median_ms'] / r[p]['median_ms']:.2f}" if ok("ds") and ok(p) else ""
                  for p in peers]
        cells += [f"{r[e]['peak_mib']:.0f}" if "peak_mib" in r[e] else "" for e in engines]
        cells += [diff_cell(r[e]) for e in engines if e != "ort"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions():
    """Installed versions, read without importing the engines."""
    from importlib import metadata
    found = {}
    for package in ("onnxruntime", "openvino", "iree-base-compiler", "iree-base-runtime", "ds"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def thread_counts(text):
    if text:
        return [int(t) for t in text.split(",") if t]
    counts = [1, 2]
    return counts + [os.cpu_count()] if os.cpu_count() > 2 else counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", help="comma-separated thread counts (default 1,2 and all cores)")
    ap.add_argument("--runs", type=int, default=20,
                    help="timed runs per engine (0: load, run once and compare only)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--work-dir", default=os.path.join(REPO, "build", "bench-peers"))
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()

    models = [m for m in args.models.split(",") if m]
    asked = [e for e in args.engines.split(",") if e]
    unknown = [m for m in models if m not in MODELS] + [e for e in asked if e not in ENGINES]
    engines = [e for e in ENGINES if e in asked]  # ORT first: the reference
    if unknown:
        ap.error(f"unknown: {', '.join(unknown)} (models: {', '.join(MODELS)}; "
                 f"engines: {', '.join(ENGINES)})")
    args.work_dir = os.path.abspath(args.work_dir)
    installed = versions()
    print(", ".join(f"{name} {version}" for name, version in installed.items() if version) +
          f"; {os.cpu_count()} CPUs")
    rows = []
    for threads in thread_counts(args.threads):
        block = [bench_model(name, engines, threads, args) for name in models]
        rows += block
        print(f"\n### {threads} thread{'s' if threads > 1 else ''}: {args.runs} interleaved runs "
              f"after {args.warmup} warm-up rounds; median (p10-p90) ms, peak RSS MiB, "
              f"max |diff| vs ORT\n")
        print(table(block, engines), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": installed, "runs": args.runs, "warmup": args.warmup,
                       "cpu_count": os.cpu_count(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
