"""ds.TrainingSession: training steps compiled by ds.

The compiler builds one step as a program (ds-autodiff, then
ds-optimizer-step): it takes the batch, the parameters, the optimizer state,
the learning rate (and, for AdamW, the step number) and returns the loss and
the next parameters and state ("X.next" for each input X). The session keeps
parameters and state between steps, feeds batches in whatever order the
caller chooses, and saves / loads them to a checkpoint file that a crash
mid-write cannot leave torn.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from ._compile import compile as compile_model
from ._errors import Error
from ._session import PathLike, Session

_FORMAT = "ds-training-checkpoint-1"


class CheckpointError(Error):
    """A checkpoint that cannot be loaded: torn, corrupted, or for another model."""


class LossScaler:
    """Dynamic loss scaling for fp16 training: start at `initial` (2^16); a
    step whose gradients are not finite is skipped and halves the scale
    (not below `minimum`); `growth_interval` clean steps in a row double it."""

    def __init__(self, initial: float = 2.0 ** 16, growth_interval: int = 2000,
                 minimum: float = 1.0) -> None:
        self.scale = float(initial)
        self.growth_interval = growth_interval
        self.minimum = minimum
        self.clean_steps = 0
        self.skipped_steps = 0

    def update(self, finite: bool) -> None:
        """Advances the state machine after a step."""
        if not finite:
            self.scale = max(self.minimum, self.scale / 2)
            self.clean_steps = 0
            self.skipped_steps += 1
            return
        self.clean_steps += 1
        if self.clean_steps == self.growth_interval:
            self.scale *= 2
            self.clean_steps = 0


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


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
    precision="fp16" the loss is scaled dynamically (`loss_scaler`, a
    LossScaler by default): a step whose gradients overflow is skipped.
    """

    def __init__(self, model_path: PathLike, *, optimizer: str = "adamw",
                 optimizer_options: Optional[Mapping[str, float]] = None,
                 loss: Optional[str] = None, loss_function: Optional[str] = None,
                 gradient_parameters: Sequence[str] = (), num_threads: int = 0,
                 loss_scaler: Optional[LossScaler] = None, **compile_options: Any) -> None:
        if loss_scaler is None and compile_options.get("precision") == "fp16":
            loss_scaler = LossScaler()
        self.loss_scaler = loss_scaler
        with tempfile.TemporaryDirectory(prefix="ds-train-") as scratch:
            artifact = compile_model(model_path, os.path.join(scratch, "step.dsx"),
                                     gradients=True, optimizer=optimizer,
                                     loss_scaling=loss_scaler is not None,
                                     optimizer_options=optimizer_options, loss=loss,
                                     loss_function=loss_function,
                                     gradient_parameters=gradient_parameters,
                                     **compile_options)
            self._session = Session(artifact, num_threads)
        outputs = {o["name"] for o in self._session.outputs}
        # Everything the step carries over: parameters and optimizer state.
        self._state: Dict[str, np.ndarray] = {
            name: np.array(value) for name, value in self._session.defaults.items()
            if name + ".next" in outputs}
        suffixes = (".momentum", ".adam_m", ".adam_v")
        self._parameters = [n for n in self._state if not n.endswith(suffixes)]
        self.learning_rate = float(self._session.defaults["learning_rate"])
        self._counts_steps = "step" in self._session.defaults
        self.steps_done = 0
        self.optimizer = optimizer

    @property
    def batch_inputs(self) -> list:
        """The inputs a step needs from the caller (the batch)."""
        carried = set(self._state) | {"learning_rate", "step", "loss_scale"}
        return [i["name"] for i in self._session.inputs if i["name"] not in carried]

    def step(self, batch: Mapping[str, Any]) -> float:
        """Runs one training step on `batch` and returns its loss (before the
        update). Parameters and state advance only when the step succeeds and,
        with loss scaling, when its gradients are finite."""
        carried = set(self._state) | {"learning_rate", "step", "loss_scale"}
        clash = carried.intersection(batch)
        if clash:
            raise ValueError(f"the batch sets {sorted(clash)}, which the session carries; use "
                             "set_parameters / learning_rate instead")
        feeds = dict(batch)
        feeds.update(self._state)
        feeds["learning_rate"] = np.float32(self.learning_rate)
        if self._counts_steps:
            feeds["step"] = np.float32(self.steps_done + 1)
        if self.loss_scaler is not None:
            feeds["loss_scale"] = np.float32(self.loss_scaler.scale)
        out = self._session.run(feeds)
        if self.loss_scaler is not None:
            finite = bool(out["grads_finite"] > 0.5)
            self.loss_scaler.update(finite)
            if not finite:  # the program left parameters and state as they were
                return float(out["loss"])
        for name in self._state:
            self._state[name] = out[name + ".next"]
        self.steps_done += 1
        return float(out["loss"])

    def parameters(self) -> Dict[str, np.ndarray]:
        """The current parameters (copies), by initializer name."""
        return {name: self._state[name].copy() for name in self._parameters}

    def set_parameters(self, values: Mapping[str, np.ndarray]) -> None:
        """Replaces parameters (any subset); shapes and dtypes must match."""
        for name, value in values.items():
            if name not in self._parameters:
                raise KeyError(f"no parameter {name!r}; parameters: {', '.join(self._parameters)}")
            array = np.asarray(value)
            old = self._state[name]
            if array.shape != old.shape or array.dtype != old.dtype:
                raise ValueError(f"parameter {name!r} is {old.dtype}{list(old.shape)}, "
                                 f"not {array.dtype}{list(array.shape)}")
            self._state[name] = array.copy()

    def optimizer_state(self) -> Dict[str, np.ndarray]:
        """The optimizer's state (momentum buffers or AdamW moments), copies."""
        return {n: v.copy() for n, v in self._state.items() if n not in self._parameters}

    def save(self, path: PathLike) -> None:
        """Writes parameters, optimizer state and the step count to `path`: to
        a temporary file in the same folder, flushed to disk, then renamed over
        `path`, so a crash leaves the previous checkpoint or the new one."""
        path = os.fspath(path)
        arrays = dict(self._state)
        arrays["__steps_done__"] = np.array(self.steps_done, np.int64)
        arrays["__learning_rate__"] = np.array(self.learning_rate, np.float64)
        if self.loss_scaler is not None:  # a resumed run goes on at the same scale
            arrays["__loss_scale__"] = np.array(
                [self.loss_scaler.scale, self.loss_scaler.clean_steps,
                 self.loss_scaler.skipped_steps], np.float64)
        arrays["__format__"] = np.array(_FORMAT)
        arrays["__digest__"] = np.array(_digest(arrays))
        folder = os.path.dirname(os.path.abspath(path))
        handle, temp = tempfile.mkstemp(prefix=".ds-ckpt-", dir=folder)
        try:
            with os.fdopen(handle, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.remove(temp)
            raise

    def load(self, path: PathLike) -> None:
        """Restores a checkpoint written by save(); a torn or corrupted file,
        or one of another model, raises ds.CheckpointError and changes nothing."""
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except Exception as error:  # a truncated zip, a file that is not one
            raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from None
        if str(arrays.pop("__format__", "")) != _FORMAT:
            raise CheckpointError(f"{path}: not a ds training checkpoint")
        digest = str(arrays.pop("__digest__", ""))
        check = dict(arrays)
        check["__format__"] = np.array(_FORMAT)
        if digest != _digest(check):
            raise CheckpointError(f"{path}: the contents do not match their checksum")
        steps = int(arrays.pop("__steps_done__"))
        rate = float(arrays.pop("__learning_rate__"))
        scaler = arrays.pop("__loss_scale__", None)
        if (scaler is None) != (self.loss_scaler is None):
            raise CheckpointError(f"{path}: saved {'without' if scaler is None else 'with'} "
                                  "loss scaling, this session runs "
                                  f"{'with' if scaler is None else 'without'} it")
        if set(arrays) != set(self._state):
            missing, extra = set(self._state) - set(arrays), set(arrays) - set(self._state)
            raise CheckpointError(f"{path}: another model's checkpoint (missing "
                                  f"{sorted(missing)[:5]}, unexpected {sorted(extra)[:5]})")
        for name, value in arrays.items():
            old = self._state[name]
            if value.shape != old.shape or value.dtype != old.dtype:
                raise CheckpointError(f"{path}: {name!r} is {value.dtype}{list(value.shape)}, "
                                      f"the model's is {old.dtype}{list(old.shape)}")
        self._state = arrays
        self.steps_done = steps
        self.learning_rate = rate
        if scaler is not None:
            self.loss_scaler.scale = float(scaler[0])
            self.loss_scaler.clean_steps = int(scaler[1])
            self.loss_scaler.skipped_steps = int(scaler[2])
