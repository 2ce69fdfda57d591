"""ds: compile ONNX models and run them with the ds runtime.

    import ds, numpy as np
    session = ds.load("model.onnx")            # compiles to an artifact first
    outputs = session.run({"input": np.zeros((1, 3, 224, 224), np.float32)})
"""

import os
import shutil
import subprocess
import tempfile

from ._ds import (Error, NoDeviceError, arena_bytes, create_session, load_model, model_inputs,
                  model_outputs, model_target)

__all__ = ["Error", "NoDeviceError", "Session", "compile", "load"]


def _compiler():
    path = os.environ.get("DS_COMPILE") or shutil.which("ds-compile")
    if not path:
        raise Error("ds-compile not found: put it on PATH or set DS_COMPILE")
    return path


def compile(model_path, output=None, *, input_shapes=None, bind_inputs=None, target="cpu"):
    """Compiles an ONNX model to a .dsx artifact and returns the artifact's path.

    input_shapes: {input name: shape} for dynamic dims; bind_inputs: {input name:
    TensorProto .pb file} to freeze inputs into constants.
    """
    if output is None:
        handle, output = tempfile.mkstemp(suffix=".dsx")
        os.close(handle)
    cmd = [_compiler(), os.fspath(model_path), "-o", os.fspath(output), "--quiet",
           f"--target={target}"]
    for name, shape in (input_shapes or {}).items():
        dims = "x".join("?" if d is None or d < 0 else str(d) for d in shape) or "scalar"
        cmd.append(f"--ds-input-shape={name}:{dims}")
    for name, path in (bind_inputs or {}).items():
        cmd.append(f"--ds-bind-input={name}={os.fspath(path)}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Error(proc.stderr.strip() or f"ds-compile failed with exit code {proc.returncode}")
    return output


class Session:
    """A loaded artifact ready to run. `inputs` / `outputs` describe the signature."""

    def __init__(self, artifact_path, num_threads=0, device=0):
        self._model = load_model(os.fspath(artifact_path))
        self.target = model_target(self._model)  # "cpu" or "cuda": the backend that runs it
        # A cuda artifact without a GPU or driver raises NoDeviceError here.
        self._session = create_session(self._model, num_threads, device)
        self.inputs = model_inputs(self._model)
        self.outputs = model_outputs(self._model)
        self.arena_bytes = arena_bytes(self._model)

    def run(self, feeds):
        """Runs with {input name: numpy array}; returns {output name: numpy array}."""
        import numpy as np
        arrays = {name: np.ascontiguousarray(value) for name, value in feeds.items()}
        return self._session.run(arrays)


def load(path, num_threads=0, device=0, **compile_options):
    """Loads an artifact, compiling first when given an .onnx model."""
    path = os.fspath(path)
    if path.endswith(".onnx"):
        artifact = compile(path, **compile_options)
        try:
            return Session(artifact, num_threads, device)
        finally:
            os.remove(artifact)
    return Session(path, num_threads, device)
