"""ds.Session: a loaded artifact ready to run."""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np

from . import _ds, _dtypes, _feeds
from ._errors import InputError
from ._feeds import InputSpec

PathLike = Union[str, "os.PathLike[str]"]


class Session:
    """A loaded artifact ready to run.

    `inputs` / `outputs` describe the signature as [{"name", "dtype", "shape"}]
    (dtype is the runtime's name: "f32", "bf16", "i4", ...; every input is
    listed, also one with a default value); `defaults` maps the inputs that
    have a default value (an ONNX initializer that is also a graph input) to
    it; `target` is "cpu" or "cuda", the backend that runs the artifact.

    Threads: one Session may be used from any number of Python threads. Runs
    on one session are serialized (the session has one activation arena and
    one worker pool): a run waits while another thread's run is in progress,
    with the GIL released. For runs that proceed in parallel, create one
    Session per thread from the same artifact.
    """

    def __init__(self, artifact_path: PathLike, num_threads: int = 0, device: int = 0) -> None:
        self._model = _ds.load_model(os.fspath(artifact_path))
        self.target: str = _ds.model_target(self._model)
        # A cuda artifact without a GPU or driver raises NoDeviceError here.
        self._session = _ds.create_session(self._model, num_threads, device)
        self.inputs: List[Dict[str, Any]] = _ds.model_inputs(self._model)
        self.outputs: List[Dict[str, Any]] = _ds.model_outputs(self._model)
        self.arena_bytes: int = _ds.arena_bytes(self._model)
        self._specs = []
        self.defaults: Dict[str, np.ndarray] = {}
        for index, info in enumerate(self.inputs):
            dtype = _dtypes.lookup(info["dtype"])
            default = _ds.model_input_default(self._model, index)
            if default is not None:
                value = _dtypes.from_runtime(default, dtype, info["shape"])
                value.flags.writeable = False
                self.defaults[info["name"]] = value
            self._specs.append(InputSpec(info["name"], dtype, tuple(info["shape"]), default,
                                         _ds.model_input_any_rank(self._model, index)))

    def run(self, feeds: Mapping[str, Any]) -> Dict[str, np.ndarray]:
        """Runs with {input name: value}; returns {output name: numpy array}.

        Values: numpy arrays of the input's dtype (bf16, float8 and int4/uint4/
        int2/uint2 as ml_dtypes arrays), in any byte order, layout or stride,
        read-only or not, rank 0 included; Python scalars and (nested) lists
        are converted to the input's dtype when that keeps their kind (bools to
        bool, ints to integer or floating types, floats to floating types).
        An input with a default value may be left out. Bad feeds raise
        ds.InputError (a ValueError) or ds.InputTypeError (a TypeError).
        Outputs are fresh arrays owned by the caller. Safe from many threads.
        """
        data, dims = _feeds.convert(self._specs, feeds)
        results = self._session.run(data, dims)
        return {info["name"]: _dtypes.from_runtime(flat, _dtypes.lookup(dtype), out_dims)
                for info, (dtype, out_dims, flat) in zip(self.outputs, results)}

    def run_device(self, feeds: Mapping[str, Any], outputs: Optional[Mapping[str, Any]] = None,
                   stream: Any = None) -> Dict[str, Any]:
        """Runs on arrays already on the GPU (a cuda artifact's session).

        feeds: {input name: array} for every input; torch, CuPy or JAX CUDA
        arrays (anything with __dlpack__), C-contiguous, of the input's dtype
        and shape (bf16 included), 16-byte aligned. outputs: {output name:
        array} written in place; left out, they are allocated like the first
        input (torch.empty, cupy.empty). stream: a CUstream handle, or a torch
        or CuPy stream; by default torch's current stream for torch inputs,
        else the default stream. The work is ordered on that stream and the
        call returns without waiting for it. Returns {output name: array}.
        Keep the same buffers when calling in a loop: other pointers make the
        session re-bind its steps and capture its CUDA graph again.
        """
        names = [info["name"] for info in self.inputs]
        unknown = sorted(set(feeds) - set(names))
        if unknown:
            raise InputError(f"run_device: the model has no input named {unknown[0]!r} "
                             f"(inputs: {', '.join(names)})")
        missing = [n for n in names if n not in feeds]
        if missing:
            raise InputError(f"run_device: input {missing[0]!r} is missing (device-resident runs "
                             f"take every input, defaults included)")
        arrays = [feeds[n] for n in names]
        first = arrays[0] if arrays else None
        torch = sys.modules.get("torch")
        is_torch = torch is not None and isinstance(first, torch.Tensor)
        out_names = [info["name"] for info in self.outputs]
        if outputs is None:
            outputs = {info["name"]: _empty_like_library(first, info, is_torch) for info in self.outputs}
        elif sorted(outputs) != sorted(out_names):
            raise InputError(f"run_device: outputs must name exactly the model's outputs "
                             f"({', '.join(out_names)})")
        if stream is None:
            stream = torch.cuda.current_stream(first.device).cuda_stream if is_torch else 0
        stream = getattr(stream, "cuda_stream", getattr(stream, "ptr", stream))
        self._session.run_device(arrays, [outputs[n] for n in out_names], int(stream))
        return {n: outputs[n] for n in out_names}


def _empty_like_library(first: Any, info: Dict[str, Any], is_torch: bool) -> Any:
    """An output buffer from the library the inputs come from."""
    shape = tuple(info["shape"])
    if any(d < 0 for d in shape):
        raise InputError(f"run_device: output {info['name']!r} has dynamic dims: pass `outputs`")
    if is_torch:
        import torch
        types = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16,
                 "f64": torch.float64, "i64": torch.int64, "i32": torch.int32, "i16": torch.int16,
                 "i8": torch.int8, "u8": torch.uint8, "bool": torch.bool}
        return torch.empty(shape, dtype=types[info["dtype"]], device=first.device)
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(first, cupy.ndarray):
        return cupy.empty(shape, dtype=_dtypes.lookup(info["dtype"]).numpy)
    raise InputError("run_device: pass `outputs` (buffers are allocated only for torch and "
                     "CuPy inputs)")
