"""ds.TrainingSession: training steps compiled by ds.

The compiler builds one step as a program (ds-autodiff, then
ds-optimizer-step): it takes the batch, the parameters, the optimizer state,
the learning rate (and, for AdamW, the step number) and returns the loss and
the next parameters and state. The runtime's training session (the C API's
ds_training_session, the same one C and C++ programs use) keeps parameters
and state between steps, feeds batches in whatever order the caller chooses,
and saves / loads them to a checkpoint file that a crash mid-write cannot
leave torn; checkpoints are interchangeable between the three APIs.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from . import _ds, _dtypes, _feeds
from ._compile import compile as compile_model
from ._errors import Error
from ._session import PathLike

LossScaler = _ds.LossScaler


class CheckpointError(Error):
    """A checkpoint that cannot be loaded: torn, corrupted, or for another model."""


class TrainingSession:
    """Trains a model with steps compiled by ds.

        session = ds.TrainingSession("model.onnx", loss_function="cross-entropy",
                                     optimizer="adamw", optimizer_options={"lr": 1e-3})
        for batch in batches:                 # any order: the caller's curriculum
            loss = session.step({"input": x, "labels": y})
        session.save("run.ckpt")

    loss / loss_function / gradient_parameters are ds.compile's (which output
    is the loss, or a standard loss appended to the output; which
    initializers train); optimizer "sgd" or "adamw" with optimizer_options
    (lr, momentum, beta1, beta2, eps, weight_decay). `learning_rate` may be
    changed between steps (a schedule). Other keyword arguments go to
    ds.compile (precision, remat_budget, remat_strategy, ...). With
    precision="fp16" the loss is scaled dynamically, starting from
    `loss_scaler` (a ds.LossScaler; 2^16, doubling after 2,000 clean steps,
    by default): a step whose gradients overflow is skipped. The session
    keeps its own scaler; `loss_scaler` reports its current state.
    """

    def __init__(self, model_path: PathLike, *, optimizer: str = "adamw",
                 optimizer_options: Optional[Mapping[str, float]] = None,
                 loss: Optional[str] = None, loss_function: Optional[str] = None,
                 gradient_parameters: Sequence[str] = (), num_threads: int = 0,
                 loss_scaler: Optional[LossScaler] = None, **compile_options: Any) -> None:
        if loss_scaler is None and compile_options.get("precision") == "fp16":
            loss_scaler = LossScaler()
        with tempfile.TemporaryDirectory(prefix="ds-train-") as scratch:
            artifact = compile_model(model_path, os.path.join(scratch, "step.dsx"),
                                     gradients=True, optimizer=optimizer,
                                     loss_scaling=loss_scaler is not None,
                                     optimizer_options=optimizer_options, loss=loss,
                                     loss_function=loss_function,
                                     gradient_parameters=gradient_parameters,
                                     **compile_options)
            self._model = _ds.load_model(artifact)
        self._session = _ds.TrainingSession(self._model, num_threads, loss_scaler)
        self._batch = [_feeds.InputSpec(i["name"], _dtypes.lookup(i["dtype"]),
                                        tuple(i["shape"]), None)
                       for i in self._session.batch_inputs()]
        self._state = {s["name"]: s for s in self._session.state()}
        self.optimizer = optimizer
        self._model_path = os.fspath(model_path)

    @property
    def batch_inputs(self) -> list:
        """The inputs a step needs from the caller (the batch)."""
        return [spec.name for spec in self._batch]

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (a schedule sets it between steps)."""
        return self._session.learning_rate

    @learning_rate.setter
    def learning_rate(self, rate: float) -> None:
        self._session.learning_rate = float(rate)

    @property
    def steps_done(self) -> int:
        """Steps applied so far (steps skipped for overflowing gradients do not count)."""
        return self._session.steps_done

    @property
    def loss_scaler(self) -> Optional[LossScaler]:
        """The loss scaler's current state (a copy), or None without loss scaling."""
        return self._session.loss_scaler()

    def step(self, batch: Mapping[str, Any]) -> float:
        """Runs one training step on `batch` and returns its loss (before the
        update). Parameters and state advance only when the step succeeds and,
        with loss scaling, when its gradients are finite."""
        carried = set(self._state) | {"learning_rate", "step", "loss_scale"}
        clash = carried.intersection(batch)
        if clash:
            raise ValueError(f"the batch sets {sorted(clash)}, which the session carries; use "
                             "set_parameters / learning_rate instead")
        data, dims = _feeds.convert(self._batch, batch)
        loss, _ = self._session.step(data, dims)
        return loss

    def _read(self, name: str) -> np.ndarray:
        info = self._state[name]
        dtype = _dtypes.lookup(info["dtype"])
        size = int(np.prod(info["shape"], dtype=np.int64)) * _dtypes.numpy_dtype(dtype).itemsize
        flat = np.empty(size, np.uint8)
        self._session.read_state(name, flat)
        return _dtypes.from_runtime(flat, dtype, info["shape"])

    def parameters(self) -> Dict[str, np.ndarray]:
        """The current parameters (copies), by initializer name."""
        return {n: self._read(n) for n, s in self._state.items() if s["is_parameter"]}

    def optimizer_state(self) -> Dict[str, np.ndarray]:
        """The optimizer's state (momentum buffers or AdamW moments), copies."""
        return {n: self._read(n) for n, s in self._state.items() if not s["is_parameter"]}

    def set_parameters(self, values: Mapping[str, np.ndarray]) -> None:
        """Replaces parameters (any subset); shapes and dtypes must match.
        Everything is checked before anything changes."""
        arrays = {}
        for name, value in values.items():
            info = self._state.get(name)
            if info is None or not info["is_parameter"]:
                names = ", ".join(n for n, s in self._state.items() if s["is_parameter"])
                raise KeyError(f"no parameter {name!r}; parameters: {names}")
            dtype = _dtypes.lookup(info["dtype"])
            array = np.asarray(value)
            want = _dtypes.numpy_dtype(dtype)
            if array.shape != tuple(info["shape"]) or array.dtype != want:
                raise ValueError(f"parameter {name!r} is {want}{list(info['shape'])}, "
                                 f"not {array.dtype}{list(array.shape)}")
            arrays[name] = _dtypes.to_runtime(np.ascontiguousarray(array), dtype)
        for name, flat in arrays.items():
            self._session.write_state(name, flat, list(self._state[name]["shape"]))

    def save_onnx(self, path: PathLike) -> None:
        """Writes the ONNX model the session was made from to `path` with the
        current parameters as its weights (a parameter PyTorch's exporter
        wrote as an Identity copy becomes an initializer of its own). The
        trained model then compiles like any other: a quantization-aware
        trained QDQ model to integer kernels."""
        if not str(self._model_path).endswith(".onnx"):
            raise ValueError(f"{self._model_path} is not an ONNX model")
        onnx_types = {"float32": 1, "float16": 10, "float64": 11, "bfloat16": 16}
        weights = []
        for name, value in self.parameters().items():
            if value.dtype.name not in onnx_types:
                raise ValueError(f"parameter {name!r} is {value.dtype}, which save_onnx "
                                 "does not write")
            weights.append((name, onnx_types[value.dtype.name], list(value.shape),
                            np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"))
                            .tobytes()))
        from . import _ds_compiler  # raises ds.CompileError with the reason
        _ds_compiler.save_weights(str(self._model_path), os.fspath(path), weights)

    def save(self, path: PathLike) -> None:
        """Writes parameters, optimizer state, the step count, the learning rate
        and the loss scaler to `path`: to a temporary file in the same folder,
        flushed to disk, then renamed over `path`, so a crash leaves the
        previous checkpoint or the new one."""
        self._session.save(os.fspath(path))

    def load(self, path: PathLike) -> None:
        """Restores a checkpoint written by save() (from Python, C or C++); a
        torn or corrupted file, or one of another model, raises
        ds.CheckpointError and changes nothing."""
        try:
            self._session.load(os.fspath(path))
        except Error as error:
            raise CheckpointError(str(error)) from None
