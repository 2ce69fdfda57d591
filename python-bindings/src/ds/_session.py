"""ds.Session: a loaded artifact ready to run."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Union

import numpy as np

from . import _ds, _dtypes, _feeds
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
            self._specs.append(InputSpec(info["name"], dtype, tuple(info["shape"]), default))

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
