"""ds.compile and ds.load: ONNX model -> .dsx artifact -> Session.

Compilation runs in-process in the extension that links the compiler
(_ds_compiler, imported on first use so that running artifacts never loads
LLVM); no ds-compile tool is needed. A failure raises
ds.CompileError with the compiler's own diagnostic (`model.onnx: error: node
'x': ...`), and no temporary file is left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ._errors import CompileError, CompileWarning
from ._session import PathLike, Session

Shape = Union[str, Sequence[Optional[int]]]


def _dims(shape: Shape) -> str:
    if isinstance(shape, str):  # already "1x128" / "?x3" / "scalar"
        return shape
    return "x".join("?" if d is None or d < 0 else str(int(d)) for d in shape) or "scalar"


def _run_compiler(model: str, output: str, shapes: Dict[str, str], binds: Dict[str, str],
                  target: str = "cpu", fuse: bool = True, precision: str = "fp32",
                  quantize: str = "none", calibration_table: str = "",
                  calibration_probes: bool = False,
                  quantize_exclude_nodes: Sequence[str] = (),
                  raise_attention: bool = True, attention_window: int = 0,
                  attention_sinks: int = 0, attention_select_blocks: int = 0,
                  attention_block_size: int = 64, attention_local_blocks: int = 0,
                  attention_stride_blocks: int = 0, attention_global_blocks: int = 0,
                  attention_layout_file: str = "",
                  attention_dense_heads: Sequence[str] = (),
                  attention_probes: bool = False, remat_budget: str = "",
                  remat_strategy: str = "greedy", cost_report: str = "",
                  cost_report_format: str = "text", gradients: bool = False, loss: str = "",
                  loss_function: str = "", gradient_parameters: Sequence[str] = (),
                  optimizer: str = "", hyperparameters: Sequence[float] = (),
                  loss_scaling: bool = False, lsq_grad_scale: bool = False,
                  precision_table: str = "", precision_error_budget: float = 0.0,
                  precision_probes: str = "", precision_report: str = "",
                  weight_block_size: int = -1, fused_attention_grad: bool = True) -> None:
    shape_specs = [f"{name}:{dims}" for name, dims in shapes.items()]
    bind_specs = [f"{name}={path}" for name, path in binds.items()]
    try:
        from . import _ds_compiler  # raises ds.CompileError with the diagnostics
    except ImportError as e:
        raise CompileError("this ds package was built without the compiler "
                           "(DS_PYTHON_WITH_COMPILER=OFF): compile on a machine with it "
                           f"and load the artifact here ({e})") from e
    diagnostics = _ds_compiler.compile_onnx(
        model, output, target, shape_specs, bind_specs, fuse, precision,
        quantize, calibration_table, calibration_probes,
        list(quantize_exclude_nodes), raise_attention, attention_window,
        attention_sinks, attention_select_blocks, attention_block_size,
        attention_local_blocks, attention_stride_blocks,
        attention_global_blocks, attention_layout_file,
        list(attention_dense_heads),
        attention_probes, remat_budget, remat_strategy, cost_report,
        cost_report_format,
        gradients, loss, loss_function, list(gradient_parameters),
        optimizer, list(hyperparameters), loss_scaling, lsq_grad_scale,
        precision_table, precision_error_budget, precision_probes,
        precision_report, weight_block_size, fused_attention_grad)
    for line in diagnostics.splitlines():
        if ": warning: " in line:
            warnings.warn(line, CompileWarning, stacklevel=3)


_OPTIMIZER_DEFAULTS = {"lr": 0.01, "momentum": 0.0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                       "weight_decay": 0.0}


def _weight_block_size(size: Optional[int]) -> int:
    if size is None:
        return -1  # the compiler's default for the bit width
    if int(size) < 0:
        raise ValueError(f"weight_block_size {size} is negative (0: one scale per column)")
    return int(size)


def _dense_heads(heads: Sequence[Union[int, str]]) -> List[str]:
    if isinstance(heads, (int, str)):
        heads = [heads]
    out = []
    for head in heads:
        if isinstance(head, bool) or not isinstance(head, (int, str)):
            raise ValueError(f"attention_dense_heads entry {head!r} is not a head (int) or "
                             "'attention:head' (str)")
        out.append(str(head))
    return out


def _layout_file(layout: Any, cleanup: contextlib.ExitStack) -> str:
    """A block layout's file: the path given, or an array saved for the compiler."""
    if isinstance(layout, (str, os.PathLike)):
        return os.fspath(layout)
    import numpy as np
    array = np.asarray(layout)
    if array.dtype.kind not in "biu":
        raise ValueError(f"attention_block_layout holds bools or integers 0 / 1, not "
                         f"{array.dtype}")
    handle, path = tempfile.mkstemp(suffix=".npy")
    os.close(handle)
    cleanup.callback(os.remove, path)
    np.save(path, np.ascontiguousarray(array))
    return path


def _hyperparameters(options: Optional[Mapping[str, float]]) -> List[float]:
    unknown = set(options or {}) - set(_OPTIMIZER_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown optimizer options {sorted(unknown)}; known: "
                         + ", ".join(_OPTIMIZER_DEFAULTS))
    merged = {**_OPTIMIZER_DEFAULTS, **(options or {})}
    return [float(merged[k]) for k in _OPTIMIZER_DEFAULTS]


def compile(model_path: PathLike, output: Optional[PathLike] = None, *,
            input_shapes: Optional[Mapping[str, Shape]] = None,
            bind_inputs: Optional[Mapping[str, PathLike]] = None,
            target: str = "cpu", fuse: bool = True, precision: str = "fp32",
            quantize: str = "none", calibration_table: Optional[PathLike] = None,
            calibration_data: Any = None, calibration_method: str = "minmax",
            smooth_quant: float = 0.0, quantize_exclude_nodes: Sequence[str] = (),
            raise_attention: bool = True, attention_window: int = 0,
            attention_sinks: int = 0, attention_select_blocks: int = 0,
            attention_block_size: int = 64, attention_local_blocks: int = 0,
            attention_stride_blocks: int = 0, attention_global_blocks: int = 0,
            attention_block_layout: Any = None,
            attention_dense_heads: Sequence[Union[int, str]] = (),
            remat_budget: Union[int, str, None] = None, remat_strategy: str = "greedy",
            cost_report: Optional[PathLike] = None, cost_report_format: str = "text",
            gradients: bool = False, loss: Optional[str] = None,
            loss_function: Optional[str] = None,
            gradient_parameters: Sequence[str] = (), optimizer: Optional[str] = None,
            optimizer_options: Optional[Mapping[str, float]] = None,
            loss_scaling: bool = False, lsq_grad_scale: bool = False,
            precision_table: Optional[PathLike] = None, precision_error_budget: float = 0.0,
            auto_precision: Optional[str] = None,
            precision_report: Optional[PathLike] = None,
            weight_block_size: Optional[int] = None,
            fused_attention_grad: bool = True) -> str:
    """Compiles an ONNX model to a .dsx artifact and returns the artifact's path.

    output: where to write it (written whole or not at all); None makes a
    temporary file that the caller owns and removes. input_shapes: {input
    name: shape} binds dynamic dims (a tuple with None/-1 for a dim left
    dynamic, or a string like "1x128"); bind_inputs: {input name: TensorProto
    .pb file} freezes inputs into constants. fuse=False leaves out the
    fusion groups, so the CPU runtime runs op by op (to measure what fusion
    buys). raise_attention=False keeps attention subgraphs as exported
    instead of one fused attention op (ds-raise-attention).
    attention_window=W > 0 makes every causal attention sparse: each query
    sees the W keys ending at its own position, plus the first
    attention_sinks keys (ds-sparsify-attention; this changes the results,
    it is an approximation the user opts into). attention_select_blocks=n
    instead selects keys at run time, NSA-style: each block of
    attention_block_size queries sees the first, its local and the n
    best-scoring earlier key blocks. attention_local_blocks,
    attention_stride_blocks and attention_global_blocks give a block layout
    instead (Sparse Transformers / Longformer / BigBird patterns, blocks of
    attention_block_size; a constant for static lengths, built per input
    shape for dynamic ones): each query block sees
    the n key blocks ending at its diagonal, every n-th block counting back
    from it, and the first n blocks. attention_block_layout gives a layout
    of the user's own instead: a .npy file, or an array, of 0 / 1 (or bools)
    shaped [query blocks, key blocks] for every head or [query heads, query
    blocks, key blocks], which every attention must match (static lengths
    in blocks of attention_block_size). attention_dense_heads chooses the
    pattern per head: the query heads listed stay dense (an int H: head H of
    every attention; a string "N:H": head H of the N-th attention, from 0),
    the others get the window or the selection. precision="fp16" or "bf16" runs contractions and attention in
    that type and keeps softmax, norms and reductions in fp32 (inputs and
    outputs keep their types); "fp8" rounds their operands to e4m3 with
    per-tensor scales (emulated on the CPU: fp8's accuracy, not its speed); "auto" is fp16, bf16
    or fp8 (the precision table's type) except for the ops the table, from
    ds.calibrate(precision=...) or measured here on calibration_data in
    auto_precision ("fp16", the default, "bf16" or "fp8"), saw overflow or miss fp32 by more
    than precision_error_budget (0: 16 unit roundoffs of fp16 / bf16, 0.08 for fp8).
    precision_report names a file that receives each op's precision and
    why (its class, a block, or its measured error).
    quantize="int8-weights" / "int4-weights" stores matmul weights as 8- / 4-bit
    codes, a byte each in the artifact, 4-bit ones packed two per byte at run
    time on AVX-512 CPUs (symmetric; one scale per column for int8, per column and block of
    weight_block_size rows, default 32, for int4) and keeps activations f32:
    weight-only quantization for large decoders, CPU only. quantize="dynamic" quantizes matmul weights to
    int8 at compile time and their activations at run time;
    quantize="static" quantizes the activations with fixed ranges, from
    calibration_table (ds.calibrate's or ds-calibrate's output) or measured
    here on calibration_data (what ds.calibrate takes) with
    calibration_method and SmoothQuant's alpha smooth_quant (0: none);
    quantize_exclude_nodes names ONNX nodes whose matmuls / convolutions
    stay f32. remat_budget (bytes, or a string like "64MB" / "1.5MiB")
    recomputes values near their uses instead of keeping them alive until
    the intermediates' peak fits, with remat_strategy "greedy", "sqrt"
    (Chen's checkpoints; applies without a budget) or "optimal" (small
    graphs); outputs are bit-identical (ds-rematerialize). cost_report
    names a file that receives the model's FLOPs, bytes moved, roofline
    time and memory after import and after each efficiency pass
    (cost_report_format "text" or "json"; ds.cost_report reads it for you).
    gradients=True compiles the gradient instead of the model: the artifact
    outputs the loss (the output named `loss`, or the only one-element float
    output) and "<name>.grad" for each parameter (gradient_parameters, or
    every float initializer of two or more elements); the parameters become
    inputs that default to their values (ds-autodiff). loss_function "mse"
    or "cross-entropy" appends a standard loss to the output named `loss`
    (or the only output), with a new input "target" (mse, the output's type)
    or "labels" (cross-entropy: int64 class ids; the last dim is the classes).
    optimizer "sgd" or "adamw" (with gradients=True) compiles one training
    step instead: outputs "<parameter>.next" and the optimizer state's next
    values; optimizer_options: lr, momentum, beta1, beta2, eps, weight_decay
    (ds-optimizer-step; ds.TrainingSession runs the steps). loss_scaling adds a
    "loss_scale" input the loss is multiplied by before differentiation;
    with an optimizer the step unscales, outputs "grads_finite" and leaves
    everything unchanged when a gradient is not finite. lsq_grad_scale=True
    multiplies the gradients of learned quantization step sizes (scales of
    fake quantization named in gradient_parameters) by 1/sqrt(N * Qp), as
    LSQ proposes (N: values per step size, Qp: the largest integer).
    fused_attention_grad=False composes attention's backward of matmuls and
    a softmax (holding each layer's [S, L] probabilities) instead of the
    fused kernel that recomputes them tile by tile.
    Raises ds.CompileError.
    """
    model = os.fspath(model_path)
    shapes = {name: _dims(shape) for name, shape in (input_shapes or {}).items()}
    binds = {name: os.fspath(path) for name, path in (bind_inputs or {}).items()}
    options = dict(target=target, fuse=fuse, precision=precision, quantize=quantize,
                   quantize_exclude_nodes=list(quantize_exclude_nodes),
                   raise_attention=raise_attention, attention_window=attention_window,
                   attention_sinks=attention_sinks,
                   attention_select_blocks=attention_select_blocks,
                   attention_block_size=attention_block_size,
                   attention_local_blocks=attention_local_blocks,
                   attention_stride_blocks=attention_stride_blocks,
                   attention_global_blocks=attention_global_blocks,
                   attention_layout_file="",
                   attention_dense_heads=_dense_heads(attention_dense_heads),
                   remat_budget="" if remat_budget is None else str(remat_budget),
                   remat_strategy=remat_strategy,
                   cost_report="" if cost_report is None else os.fspath(cost_report),
                   cost_report_format=cost_report_format, gradients=gradients,
                   loss=loss or "", loss_function=loss_function or "",
                   gradient_parameters=list(gradient_parameters), optimizer=optimizer or "",
                   hyperparameters=_hyperparameters(optimizer_options),
                   loss_scaling=loss_scaling, lsq_grad_scale=lsq_grad_scale,
                   precision_error_budget=float(precision_error_budget),
                   precision_report="" if precision_report is None
                   else os.fspath(precision_report),
                   weight_block_size=_weight_block_size(weight_block_size),
                   fused_attention_grad=fused_attention_grad)
    with contextlib.ExitStack() as cleanup:
        if attention_block_layout is not None:
            options["attention_layout_file"] = _layout_file(attention_block_layout, cleanup)
        if calibration_table is not None and calibration_data is not None:
            raise ValueError("give calibration_table or calibration_data, not both")
        if smooth_quant and calibration_data is None:
            raise ValueError("smooth_quant is applied while calibrating: give calibration_data "
                             "(or a table from ds.calibrate(smooth_quant=...))")
        if smooth_quant and quantize != "static":
            raise ValueError("smooth_quant is for quantize='static'")
        if precision_table is not None and precision != "auto":
            raise ValueError("precision_table is for precision='auto'")
        if auto_precision is not None and (precision != "auto" or precision_table is not None):
            raise ValueError("auto_precision is the type precision='auto' calibrates on "
                             "calibration_data; a precision_table has its own")
        if auto_precision not in (None, "fp16", "bf16", "fp8"):
            raise ValueError(f"auto_precision {auto_precision!r} is not fp16, bf16 or fp8")
        if precision == "auto" and quantize != "none":
            raise ValueError("precision='auto' measures the fp32 model's ops: it does not "
                             f"combine with quantize={quantize!r}")
        if precision == "auto" and precision_table is not None and calibration_data is not None:
            raise ValueError("give precision_table or calibration_data, not both")
        # What shapes the IR before quantization and precision: the calibration
        # run's artifact must be compiled the same way for its names to match.
        shaping = {k: options[k] for k in (
            "raise_attention", "attention_window", "attention_sinks", "attention_select_blocks",
            "attention_block_size", "attention_local_blocks", "attention_stride_blocks",
            "attention_global_blocks", "attention_layout_file", "attention_dense_heads",
            "gradients", "loss", "loss_function", "gradient_parameters",
            "optimizer", "hyperparameters", "loss_scaling", "lsq_grad_scale",
            "fused_attention_grad")}
        if precision == "auto" and precision_table is None:
            if calibration_data is None:
                raise ValueError("precision='auto' needs a precision_table "
                                 "(ds.calibrate(precision=...)) or calibration_data")
            from ._calibrate import calibrate
            precision_table = calibrate(model, calibration_data,
                                        precision=auto_precision or "fp16",
                                        input_shapes=input_shapes, bind_inputs=bind_inputs,
                                        compile_options=shaping)
            cleanup.callback(os.remove, precision_table)
        if precision_table is not None:
            options["precision_table"] = os.fspath(precision_table)
        if calibration_data is not None and quantize != "static" and precision != "auto":
            raise ValueError("calibration_data is for quantize='static' or precision='auto'")
        if calibration_data is not None and quantize == "static":
            from ._calibrate import calibrate
            calibration_table = calibrate(model, calibration_data, method=calibration_method,
                                          smooth_quant=smooth_quant, input_shapes=input_shapes,
                                          bind_inputs=bind_inputs, compile_options=shaping)
            cleanup.callback(os.remove, calibration_table)
        if calibration_table is not None:
            options["calibration_table"] = os.fspath(calibration_table)
        if output is not None:
            _run_compiler(model, os.fspath(output), shapes, binds, **options)
            return os.fspath(output)
        handle, temp = tempfile.mkstemp(suffix=".dsx")
        os.close(handle)
        try:
            _run_compiler(model, temp, shapes, binds, **options)
        except BaseException:
            os.remove(temp)
            raise
        return temp


def load(path: PathLike, num_threads: int = 0, device: int = 0, **compile_options) -> Session:
    """Loads an artifact, compiling first when given an .onnx model (into a
    temporary directory that is removed whatever happens). compile_options
    are ds.compile's: input_shapes, bind_inputs, target, fuse, raise_attention,
    attention_window, attention_sinks, attention_select_blocks, attention_block_size,
    attention_local_blocks, attention_stride_blocks, attention_global_blocks,
    attention_block_layout, attention_dense_heads, precision,
    quantize, calibration_table, calibration_data, calibration_method,
    smooth_quant, quantize_exclude_nodes, remat_budget, remat_strategy, cost_report,
    cost_report_format, gradients, loss, loss_function, gradient_parameters, optimizer,
    optimizer_options, loss_scaling, lsq_grad_scale, precision_table, precision_error_budget,
    auto_precision, precision_report, weight_block_size, fused_attention_grad."""
    path = os.fspath(path)
    if not path.endswith(".onnx"):
        return Session(path, num_threads, device)
    with tempfile.TemporaryDirectory(prefix="ds-") as scratch:
        artifact = compile(path, os.path.join(scratch, "model.dsx"), **compile_options)
        # The session keeps what it needs: the file may go once it is loaded.
        return Session(artifact, num_threads, device)
