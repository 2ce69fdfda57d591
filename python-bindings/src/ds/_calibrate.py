"""ds.calibrate: activation ranges for static quantization, or each op's
error in fp16 / bf16 for precision="auto", from data.

The Python face of ds-calibrate: the model compiled with its quantizable
activations as extra outputs (calibration probes), run on every sample,
each activation's values gathered by the same range collector ds-calibrate
uses (min-max, percentile or entropy), and the calibration table written for
ds.compile(quantize="static", calibration_table=...). With precision=, each
op mixed precision may lower is also computed in that type (precision
probes) and compared with its f32 result by ds-calibrate's precision
collector; the precision table is for ds.compile(precision="auto",
precision_table=...).
"""

from __future__ import annotations

import contextlib
import numbers
import os
import sys
import tempfile
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Union

import numpy as np

from . import _ds
from ._session import PathLike, Session

PROBE_PREFIX = "ds.calibration:"
PRECISION_PREFIX = "ds.precision:"
Feeds = Mapping[str, Any]


def _load_tensor(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    from onnx import TensorProto, numpy_helper  # .pb files are ONNX TensorProtos
    tensor = TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def _folder_samples(folder: str, input_names: list) -> Iterator[Dict[str, np.ndarray]]:
    """The layout ds-calibrate reads: one sub-folder per sample holding
    <input>.npy ('/' as '_') or input_<i>.pb / input_<i>.npy files; for a model
    with one input, one .npy or .pb file per sample."""
    entries = sorted(e for e in os.listdir(folder) if not e.startswith("."))
    dirs = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    if not dirs:
        if len(input_names) != 1:
            raise ValueError(f"{folder!r} holds files, not one folder per sample (the model has "
                             f"{len(input_names)} inputs)")
        for e in entries:
            if e.endswith((".npy", ".pb")):
                yield {input_names[0]: _load_tensor(os.path.join(folder, e))}
        return
    for d in dirs:
        sample = {}
        for i, name in enumerate(input_names):
            options = [f"{name.replace('/', '_')}.npy", f"input_{i}.pb", f"input_{i}.npy"]
            found = [o for o in options if os.path.isfile(os.path.join(folder, d, o))]
            if not found:
                raise ValueError(f"sample {os.path.join(folder, d)!r} has no file for input {i} "
                                 f"{name!r} ({options[0]} or {options[1]})")
            sample[name] = _load_tensor(os.path.join(folder, d, found[0]))
        yield sample


class _Progress:
    """A progress bar on stderr (when it is a terminal, unless forced)."""

    def __init__(self, total: Optional[int], show: Optional[bool], label: str = "") -> None:
        self.total, self.done, self.label = total, 0, label
        self.show = sys.stderr.isatty() if show is None else show

    def step(self) -> None:
        self.done += 1
        if not self.show:
            return
        if self.total:
            filled = 30 * self.done // self.total
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\rds.calibrate: {self.label}[{bar}] {self.done}/{self.total} samples")
        else:
            sys.stderr.write(f"\rds.calibrate: {self.label}{self.done} samples")
        sys.stderr.flush()

    def close(self) -> None:
        if self.show and self.done:
            sys.stderr.write("\n")


def _run_pass(model: str, shapes: Dict[str, str], binds: Dict[str, str], table: str,
              samples: Callable[[List[str]], Iterable[Feeds]], total: Optional[int],
              num_threads: int, channels: bool, progress: Optional[bool], label: str,
              compile_options: Mapping[str, Any]):
    """One calibration pass: the probes artifact (smoothed with `table`'s
    statistics when given) run on every sample samples(input names) yields.
    Returns ({probe key: collector}, sample count)."""
    from ._compile import _run_compiler
    with tempfile.TemporaryDirectory(prefix="ds-calibrate-") as scratch:
        artifact = os.path.join(scratch, "probes.dsx")
        _run_compiler(model, artifact, shapes, binds, calibration_table=table,
                      calibration_probes=True, **compile_options)
        session = Session(artifact, num_threads)
    probes = {o["name"]: o["name"][len(PROBE_PREFIX):] for o in session.outputs
              if o["name"].startswith(PROBE_PREFIX)}
    if not probes:
        raise ValueError(f"{model}: no matmul or convolution that static quantization would "
                         "quantize (f32, with a constant weight)")
    collectors = {name: _ds.RangeCollector() for name in probes}
    bar = _Progress(total, progress, label)
    try:
        for feeds in samples([i["name"] for i in session.inputs]):
            outputs = session.run(feeds)
            for name, collector in collectors.items():
                value = np.ascontiguousarray(outputs[name], dtype=np.float32)
                collector.add(value.ravel(), value.shape[-1] if channels and value.ndim else 0)
            bar.step()
    finally:
        bar.close()
    if bar.done == 0:
        raise ValueError("the calibration data holds no samples")
    return {probes[name]: c for name, c in collectors.items()}, bar.done


def _precision_pass(model: str, shapes: Dict[str, str], binds: Dict[str, str], low: str,
                    samples: Callable[[List[str]], Iterable[Feeds]], total: Optional[int],
                    num_threads: int, progress: Optional[bool],
                    compile_options: Mapping[str, Any]) -> str:
    """The precision table's text: each op's f32 result against its result
    in `low`, over every sample."""
    from ._compile import _run_compiler
    with tempfile.TemporaryDirectory(prefix="ds-calibrate-") as scratch:
        artifact = os.path.join(scratch, "probes.dsx")
        _run_compiler(model, artifact, shapes, binds, precision_probes=low, **compile_options)
        session = Session(artifact, num_threads)
    names = [o["name"] for o in session.outputs]
    low_prefix = f"ds.precision-{low}:"
    # key -> [(f32 output, low output)]: ds.precision:<r>:<key> and its partner.
    pairs: Dict[str, List[tuple]] = {}
    for name in names:
        if name.startswith(PRECISION_PREFIX):
            suffix = name[len(PRECISION_PREFIX):]
            key = suffix.split(":", 1)[1]
            pairs.setdefault(key, []).append((name, low_prefix + suffix))
    if not pairs:
        which = ("contraction or attention op with f32 operands" if low == "fp8" else
                 "contraction, attention, elementwise or window op with f32 values")
        raise ValueError(f"{model}: no op to measure in {low} (no {which})")
    collectors = {key: _ds.PrecisionCollector() for key in pairs}
    bar = _Progress(total, progress, low)
    try:
        for feeds in samples([i["name"] for i in session.inputs]):
            outputs = session.run(feeds)
            for key, outs in pairs.items():
                for ref, lowered in outs:
                    collectors[key].add(np.ascontiguousarray(outputs[ref], np.float32).ravel(),
                                        np.ascontiguousarray(outputs[lowered], np.float32).ravel())
            bar.step()
    finally:
        bar.close()
    if bar.done == 0:
        raise ValueError("the calibration data holds no samples")
    return _ds.format_precision_table(low, bar.done, [
        (key, c.relative_error, c.overflows, c.abs_max) for key, c in collectors.items()])


def _write_whole(text: str, output: Optional[PathLike]) -> str:
    """Writes text to output (a temporary file when None) whole or not at
    all; returns the path."""
    if output is None:
        handle, path = tempfile.mkstemp(suffix=".table")
        os.close(handle)
    else:
        path = os.fspath(output)
    temp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(temp, "w") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:
        for leftover in (temp, path if output is None else None):
            if leftover and os.path.exists(leftover):
                os.remove(leftover)
        raise
    return path


def calibrate(model_path: PathLike, data: Union[PathLike, Iterable[Feeds]],
              output: Optional[PathLike] = None, *, method: str = "minmax",
              percentile: float = 99.99, smooth_quant: float = 0.0, num_threads: int = 0,
              input_shapes: Optional[Mapping[str, Any]] = None,
              bind_inputs: Optional[Mapping[str, PathLike]] = None,
              progress: Optional[bool] = None, precision: Optional[str] = None,
              compile_options: Optional[Mapping[str, Any]] = None) -> str:
    """Measures the ranges of the activations static quantization needs and
    writes them as a calibration table; returns its path (a temporary file
    the caller owns when output is None). With precision="fp16", "bf16" or
    "fp8" it measures instead each op's error and overflow in that type (fp8:
    the contractions and attention ops the fp8 policy rounds) and writes
    the precision table ds.compile(precision="auto") reads (method,
    percentile and smooth_quant do not apply). compile_options: ds.compile's
    options that shape the model before quantization and precision
    (raise_attention, attention_window, ..., gradients and its options), as
    the compile that reads the table will have them, so that the table names
    the same ops.

    data: an iterable of feeds ({input name: array}, what Session.run takes)
    or a folder laid out as ds-calibrate reads it. method: "minmax",
    "percentile" (of |x|, `percentile` kept) or "entropy" (the threshold
    minimizing the KL divergence to its 128-level quantization).
    smooth_quant: SmoothQuant's alpha in (0, 1] (0: none); the data is then
    run twice (channel statistics, then the smoothed activations' ranges),
    so a one-shot iterator is kept in a list. progress: a progress bar on
    stderr; None shows it when stderr is a terminal. input_shapes /
    bind_inputs are ds.compile's.
    """
    from ._compile import _dims
    if precision is not None:
        if precision not in ("fp16", "bf16", "fp8"):
            raise ValueError(f"precision {precision!r} is not fp16, bf16 or fp8")
        if smooth_quant or method != "minmax" or percentile != 99.99:
            raise ValueError("precision= measures errors, not ranges: method, percentile and "
                             "smooth_quant are for static quantization")
    if method not in ("minmax", "percentile", "entropy"):
        raise ValueError(f"calibration method {method!r} is not minmax, percentile or entropy")
    if not 0.0 <= smooth_quant <= 1.0:
        raise ValueError(f"SmoothQuant's alpha {smooth_quant} is not in (0, 1]")
    model = os.fspath(model_path)
    extra = dict(compile_options or {})
    reserved = {"precision", "quantize", "calibration_table", "calibration_probes",
                "precision_table", "precision_probes", "precision_report"} & set(extra)
    if reserved:
        raise ValueError(f"compile_options may not set {sorted(reserved)}: calibration "
                         "compiles its own probes")
    with contextlib.ExitStack() as cleanup:
        if "attention_block_layout" in extra:  # ds.compile's name: an array or a path
            from ._compile import _layout_file
            extra["attention_layout_file"] = _layout_file(extra.pop("attention_block_layout"),
                                                          cleanup)
        shapes = {name: _dims(shape) for name, shape in (input_shapes or {}).items()}
        binds = {name: os.fspath(path) for name, path in (bind_inputs or {}).items()}
        if isinstance(data, (str, os.PathLike)):
            folder = os.fspath(data)
            samples: Any = lambda names: _folder_samples(folder, names)  # noqa: E731
            total = None
        else:
            if smooth_quant and not hasattr(data, "__len__"):
                data = list(data)  # run twice
            total = len(data) if hasattr(data, "__len__") else None  # type: ignore[arg-type]
            samples = lambda names: iter(data)  # noqa: E731
        if precision is not None:
            return _write_whole(_precision_pass(model, shapes, binds, precision, samples, total,
                                                num_threads, progress, extra), output)
        smooth = smooth_quant > 0.0
        first, count = _run_pass(model, shapes, binds, "", samples, total, num_threads, smooth,
                                 progress, "pass 1/2 " if smooth else "", extra)
        entries = [(key, *c.range(method, percentile), c.channel_abs_max if smooth else [])
                   for key, c in first.items()]
        if smooth:
            handle, statistics = tempfile.mkstemp(suffix=".table")
            os.close(handle)
            try:
                with open(statistics, "w") as f:
                    f.write(_ds.format_calibration_table(method, count, entries, smooth_quant))
                second, _ = _run_pass(model, shapes, binds, statistics, samples, total,
                                      num_threads, False, progress, "pass 2/2 ", extra)
            finally:
                os.remove(statistics)
            missing = [key for key, _, _, _ in entries if key not in second]
            if missing:
                raise ValueError(f"{missing[0]!r} is not probed after smoothing")
            entries = [(key, *second[key].range(method, percentile), absmax)
                       for key, _, _, absmax in entries]
        return _write_whole(_ds.format_calibration_table(method, count, entries, smooth_quant),
                            output)


ATTENTION_PREFIX = "ds.attention-probe:"


def calibrate_attention_heads(model_path: PathLike, data: Union[PathLike, Iterable[Feeds]], *,
                              window: int = 0, sinks: int = 0, local_blocks: int = 0,
                              stride_blocks: int = 0, global_blocks: int = 0,
                              block_size: int = 64, keep: float = 0.9,
                              num_threads: int = 0,
                              input_shapes: Optional[Mapping[str, Any]] = None,
                              bind_inputs: Optional[Mapping[str, PathLike]] = None,
                              progress: Optional[bool] = None,
                              compile_options: Optional[Mapping[str, Any]] = None
                              ) -> Dict[str, Any]:
    """Dense heads from data (ds-calibrate --attention-window): the share of
    each causal attention head's probability mass that a window of `window`
    keys ending at the diagonal plus the first `sinks` keys keeps, summed
    over the samples; or, with local_blocks / stride_blocks / global_blocks
    instead of a window, the block layout ds.compile(attention_local_blocks=
    ..., attention_block_size=block_size) would give each attention (encoders
    included). Returns {"kept": {(attention, head): share},
    "dense_heads": ["N:H", ...]} where the dense heads are those keeping less
    than `keep`: pass them as ds.compile(attention_window=window,
    attention_sinks=sinks, attention_dense_heads=...) (or with the layout's
    options). Attentions are numbered in program order, as
    attention_dense_heads counts them; the probes need static shapes
    (input_shapes) and f32. data, num_threads, input_shapes, bind_inputs,
    progress and compile_options as in ds.calibrate.
    """
    from ._compile import _dims, _run_compiler
    def count(value: Any) -> Optional[int]:
        return int(value) if isinstance(value, numbers.Integral) and not isinstance(
            value, bool) else None
    counts = {"window": window, "sinks": sinks, "local_blocks": local_blocks,
              "stride_blocks": stride_blocks, "global_blocks": global_blocks,
              "block_size": block_size}
    for name, value in counts.items():
        n = count(value)
        if n is None or n < 0:
            raise ValueError(f"{name} {value!r} must be a count")
        counts[name] = n
    layout = counts["local_blocks"] > 0 or counts["stride_blocks"] > 0 or \
        counts["global_blocks"] > 0
    if (counts["window"] > 0) == layout:
        raise ValueError("measure one pattern: a window > 0 (with sinks) or a block layout "
                         "(local_blocks, stride_blocks, global_blocks)")
    if layout and (counts["sinks"] or not 1 <= counts["block_size"] <= 1024):
        raise ValueError("a block layout takes no sinks and a block_size in [1, 1024]")
    pattern = ({"attention_block_size": counts["block_size"],
                "attention_local_blocks": counts["local_blocks"],
                "attention_stride_blocks": counts["stride_blocks"],
                "attention_global_blocks": counts["global_blocks"]} if layout else
               {"attention_window": counts["window"], "attention_sinks": counts["sinks"]})
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep {keep} is not in (0, 1]")
    extra = dict(compile_options or {})
    reserved = {"attention_window", "attention_sinks", "attention_dense_heads",
                "attention_block_size", "attention_local_blocks", "attention_stride_blocks",
                "attention_global_blocks", "attention_select_blocks", "attention_probes",
                "attention_block_layout", "attention_layout_file", "calibration_probes",
                "precision_probes"} & set(extra)
    if reserved:
        raise ValueError(f"compile_options may not set {sorted(reserved)}: the calibration "
                         "compiles its own attention probes")
    model = os.fspath(model_path)
    shapes = {name: _dims(shape) for name, shape in (input_shapes or {}).items()}
    binds = {name: os.fspath(path) for name, path in (bind_inputs or {}).items()}
    with tempfile.TemporaryDirectory(prefix="ds-calibrate-") as scratch:
        artifact = os.path.join(scratch, "probes.dsx")
        _run_compiler(model, artifact, shapes, binds, attention_probes=True, **pattern,
                      **extra)
        session = Session(artifact, num_threads)
    probes = {o["name"]: int(o["name"][len(ATTENTION_PREFIX):]) for o in session.outputs
              if o["name"].startswith(ATTENTION_PREFIX)}
    if not probes:
        raise ValueError(f"{model}: no attention to measure (an attention with static "
                         "shapes, f32, not sparse already, causal for a window)")
    if isinstance(data, (str, os.PathLike)):
        samples: Iterable[Feeds] = _folder_samples(os.fspath(data),
                                                   [i["name"] for i in session.inputs])
        total = None
    else:
        samples = data
        total = len(data) if hasattr(data, "__len__") else None  # type: ignore[arg-type]
    sums: Dict[str, np.ndarray] = {}
    bar = _Progress(total, progress, "attention ")
    try:
        for feeds in samples:
            outputs = session.run(feeds)
            for name in probes:
                value = np.asarray(outputs[name], dtype=np.float64)
                sums[name] = sums[name] + value if name in sums else value
            bar.step()
    finally:
        bar.close()
    if bar.done == 0:
        raise ValueError("the calibration data holds no samples")
    kept: Dict[Any, float] = {}
    for name, attention in sorted(probes.items(), key=lambda item: item[1]):
        inside, whole = sums[name]
        for head in range(len(inside)):
            # A head no query of which saw a key keeps everything there is.
            kept[(attention, head)] = float(inside[head] / whole[head]) if whole[head] > 0 else 1.0
    dense = [f"{a}:{h}" for (a, h), share in kept.items() if share < keep]
    return {"kept": kept, "dense_heads": dense}
