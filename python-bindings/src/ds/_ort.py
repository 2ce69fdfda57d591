"""An onnxruntime-compatible surface: code written for onnxruntime switches
with `import ds as ort` (or `ds.InferenceSession` for
`onnxruntime.InferenceSession`).

Differences, each deliberate: the model is compiled ahead of time when the
session is created; providers pick the compile target (CPUExecutionProvider ->
cpu, CUDAExecutionProvider -> cuda) and an unknown provider is an error, not a
warning; sess_options only contributes its thread count.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _dtypes, _onnx_meta
from ._compile import compile as _compile
from ._errors import CompileError, InputError, NoDeviceError
from ._session import Session

_MAGIC = b"DSXARTF\0"
_TARGETS = {"CPUExecutionProvider": "cpu", "CUDAExecutionProvider": "cuda"}


def get_available_providers() -> List[str]:
    """The providers InferenceSession understands (whether a GPU is present is
    only known when a session is created)."""
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def get_device() -> str:
    return "CPU"


class NodeArg:
    """An input or output as onnxruntime describes it."""

    def __init__(self, name: str, type: str, shape: List[Optional[int]]) -> None:
        self.name = name
        self.type = type  # "tensor(float)", ...
        self.shape = shape  # dims; None where a dim is dynamic

    def __repr__(self) -> str:
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape!r})"


class SessionOptions:
    """The onnxruntime.SessionOptions fields ds reads (an onnxruntime
    SessionOptions works too): intra_op_num_threads (0 = all cores)."""

    def __init__(self) -> None:
        self.intra_op_num_threads = 0
        self.inter_op_num_threads = 0
        self.log_severity_level = 2
        self.graph_optimization_level: Any = None


class RunOptions:
    """Accepted for compatibility; ds reads none of its fields."""

    def __init__(self) -> None:
        self.log_severity_level = 2
        self.tag = ""


class ModelMetadata:
    """The ONNX model's metadata, as onnxruntime's ModelMetadata."""

    def __init__(self, fields: Optional[Dict[str, Any]] = None) -> None:
        fields = fields or {}
        self.producer_name: str = fields.get("producer_name", "")
        self.domain: str = fields.get("domain", "")
        self.version: int = fields.get("model_version", 0)
        self.description: str = fields.get("doc_string", "")
        self.graph_name: str = fields.get("graph_name", "")
        self.graph_description: str = fields.get("graph_doc_string", "")
        self.custom_metadata_map: Dict[str, str] = dict(fields.get("custom", {}))


def _providers(providers: Optional[Sequence[Any]], provider_options: Optional[Sequence[Any]]
               ) -> List[Tuple[str, Dict[str, Any]]]:
    chosen = []
    for i, entry in enumerate(providers or ["CPUExecutionProvider"]):
        name, options = (entry, {}) if isinstance(entry, str) else tuple(entry)
        if provider_options and i < len(provider_options):
            options = {**options, **provider_options[i]}
        if name not in _TARGETS:
            raise ValueError(f"unknown execution provider {name!r}: ds runs "
                             "CPUExecutionProvider (compiles for target cpu) and "
                             "CUDAExecutionProvider (target cuda)")
        chosen.append((name, dict(options)))
    return chosen


def _threads(sess_options: Any, kwargs: Dict[str, Any]) -> int:
    if "num_threads" in kwargs:
        return int(kwargs.pop("num_threads"))
    return int(getattr(sess_options, "intra_op_num_threads", 0) or 0)


class InferenceSession:
    """onnxruntime.InferenceSession over ds.

        session = ds.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
        y, = session.run(None, {"x": x})

    path_or_bytes: an .onnx model or a .dsx artifact, as a path or bytes.
    ds-specific keywords: num_threads (else sess_options.intra_op_num_threads),
    input_shapes and bind_inputs (see ds.compile). Like onnxruntime,
    get_inputs() leaves out inputs with a default value (ONNX initializers
    that are also graph inputs): get_overridable_initializers() lists them, and
    run() uses the default unless the feed has a value.

    Threads: run() may be called from many threads at once; runs on one
    session are serialized (create a session per thread for parallel runs).
    """

    def __init__(self, path_or_bytes: Union[str, bytes, "os.PathLike[str]"],
                 sess_options: Any = None, providers: Optional[Sequence[Any]] = None,
                 provider_options: Optional[Sequence[Dict[str, Any]]] = None,
                 **kwargs: Any) -> None:
        threads = _threads(sess_options, kwargs)
        compile_options: Dict[str, Any] = {k: kwargs.pop(k) for k in ("input_shapes", "bind_inputs")
                                           if k in kwargs}
        if kwargs:
            raise TypeError(f"InferenceSession got unexpected keyword arguments {sorted(kwargs)}")
        self._sess_options = sess_options
        chosen = _providers(providers, provider_options)
        with tempfile.TemporaryDirectory(prefix="ds-") as scratch:
            path = self._as_file(path_or_bytes, scratch)
            self._session = self._open(path, scratch, chosen, threads, compile_options)
            self._meta = ModelMetadata()
            if not self._is_artifact(path):
                try:
                    self._meta = ModelMetadata(_onnx_meta.read_file(path))
                except (ValueError, BufferError):  # it compiled, so not expected; stay usable
                    pass
        self._providers = (["CUDAExecutionProvider", "CPUExecutionProvider"]
                           if self._session.target == "cuda" else ["CPUExecutionProvider"])
        self._inputs = [self._node_arg(i) for i in self._session.inputs
                        if i["name"] not in self._session.defaults]
        self._overridable = [self._node_arg(i) for i in self._session.inputs
                             if i["name"] in self._session.defaults]
        self._outputs = [self._node_arg(o) for o in self._session.outputs]

    @staticmethod
    def _as_file(source: Any, scratch: str) -> str:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            path = os.path.join(scratch, "model.dsx" if data[:8] == _MAGIC else "model.onnx")
            with open(path, "wb") as f:
                f.write(data)
            return path
        return os.fspath(source)

    @staticmethod
    def _is_artifact(path: str) -> bool:
        try:
            with open(path, "rb") as f:
                return f.read(8) == _MAGIC
        except OSError:
            return False  # let the compiler report the path

    def _open(self, path: str, scratch: str, chosen: List[Tuple[str, Dict[str, Any]]],
              threads: int, compile_options: Dict[str, Any]) -> Session:
        if self._is_artifact(path):
            session = Session(path, threads, int(chosen[0][1].get("device_id", 0)))
            if not any(_TARGETS[name] == session.target for name, _ in chosen):
                raise ValueError(f"the artifact was compiled for {session.target}, which none "
                                 f"of the providers {[n for n, _ in chosen]} runs")
            return session
        for i, (name, options) in enumerate(chosen):
            artifact = os.path.join(scratch, f"model.{i}.dsx")
            try:
                _compile(path, artifact, target=_TARGETS[name], **compile_options)
            except CompileError as e:  # e.g. an op or dtype this target lacks
                if i + 1 == len(chosen):
                    raise
                warnings.warn(f"{name} cannot compile this model ({e}); falling back to "
                              f"{chosen[i + 1][0]}")
                continue
            try:
                return Session(artifact, threads, int(options.get("device_id", 0)))
            except NoDeviceError as e:
                if i + 1 == len(chosen):
                    raise
                warnings.warn(f"{name} is not available ({e}); falling back to {chosen[i + 1][0]}")
        raise AssertionError("unreachable")

    @staticmethod
    def _node_arg(info: Dict[str, Any]) -> NodeArg:
        return NodeArg(info["name"], _dtypes.lookup(info["dtype"]).ort,
                       [None if d < 0 else int(d) for d in info["shape"]])

    def get_inputs(self) -> List[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> List[NodeArg]:
        return list(self._outputs)

    def get_overridable_initializers(self) -> List[NodeArg]:
        return list(self._overridable)

    def get_providers(self) -> List[str]:
        return list(self._providers)

    def get_provider_options(self) -> Dict[str, Dict[str, str]]:
        return {name: {} for name in self._providers}

    def get_session_options(self) -> Any:
        return self._sess_options if self._sess_options is not None else SessionOptions()

    def get_modelmeta(self) -> ModelMetadata:
        """The ONNX model's metadata; empty for a session made from a .dsx artifact."""
        return self._meta

    def run(self, output_names: Optional[Sequence[str]], input_feed: Mapping[str, Any],
            run_options: Any = None) -> List[np.ndarray]:
        """Returns the outputs named in output_names, in that order (None or
        empty: all). input_feed and errors as ds.Session.run."""
        names = list(output_names) if output_names else [o.name for o in self._outputs]
        known = [o.name for o in self._outputs]
        for name in names:
            if name not in known:
                raise InputError(f"invalid output name {name!r}; the outputs are "
                                 + ", ".join(repr(n) for n in known))
        results = self._session.run(input_feed)
        return [results[name] for name in names]
