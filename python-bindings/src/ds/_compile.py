"""ds.compile and ds.load: ONNX model -> .dsx artifact -> Session.

Compilation runs in-process when the extension links the compiler
(_ds.compile_onnx), else through the ds-compile tool (DS_COMPILE or PATH).
Either way a failure raises ds.CompileError with the compiler's own
diagnostic (`model.onnx: error: node 'x': ...`), and no temporary file is
left behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Dict, Mapping, Optional, Sequence, Union

from . import _ds
from ._errors import CompileError, Error
from ._session import PathLike, Session

Shape = Union[str, Sequence[Optional[int]]]


def _dims(shape: Shape) -> str:
    if isinstance(shape, str):  # already "1x128" / "?x3" / "scalar"
        return shape
    return "x".join("?" if d is None or d < 0 else str(int(d)) for d in shape) or "scalar"


def _compile_tool() -> str:
    path = os.environ.get("DS_COMPILE") or shutil.which("ds-compile")
    if not path:
        raise Error("ds-compile not found: put it on PATH or set DS_COMPILE")
    return path


def _run_compiler(model: str, output: str, target: str, shapes: Dict[str, str],
                  binds: Dict[str, str]) -> None:
    shape_specs = [f"{name}:{dims}" for name, dims in shapes.items()]
    bind_specs = [f"{name}={path}" for name, path in binds.items()]
    if hasattr(_ds, "compile_onnx"):
        _ds.compile_onnx(model, output, target, shape_specs, bind_specs)
        return
    cmd = [_compile_tool(), model, "-o", output, "--quiet", f"--target={target}"]
    cmd += [f"--ds-input-shape={s}" for s in shape_specs]
    cmd += [f"--ds-bind-input={s}" for s in bind_specs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(proc.stderr.strip()
                           or f"{model}: error: ds-compile failed with exit code {proc.returncode}")


def compile(model_path: PathLike, output: Optional[PathLike] = None, *,
            input_shapes: Optional[Mapping[str, Shape]] = None,
            bind_inputs: Optional[Mapping[str, PathLike]] = None,
            target: str = "cpu") -> str:
    """Compiles an ONNX model to a .dsx artifact and returns the artifact's path.

    output: where to write it (written whole or not at all); None makes a
    temporary file that the caller owns and removes. input_shapes: {input
    name: shape} binds dynamic dims (a tuple with None/-1 for a dim left
    dynamic, or a string like "1x128"); bind_inputs: {input name: TensorProto
    .pb file} freezes inputs into constants. Raises ds.CompileError.
    """
    model = os.fspath(model_path)
    shapes = {name: _dims(shape) for name, shape in (input_shapes or {}).items()}
    binds = {name: os.fspath(path) for name, path in (bind_inputs or {}).items()}
    if output is not None:
        _run_compiler(model, os.fspath(output), target, shapes, binds)
        return os.fspath(output)
    handle, temp = tempfile.mkstemp(suffix=".dsx")
    os.close(handle)
    try:
        _run_compiler(model, temp, target, shapes, binds)
    except BaseException:
        os.remove(temp)
        raise
    return temp


def load(path: PathLike, num_threads: int = 0, device: int = 0, **compile_options) -> Session:
    """Loads an artifact, compiling first when given an .onnx model (into a
    temporary directory that is removed whatever happens). compile_options
    are ds.compile's: input_shapes, bind_inputs, target."""
    path = os.fspath(path)
    if not path.endswith(".onnx"):
        return Session(path, num_threads, device)
    with tempfile.TemporaryDirectory(prefix="ds-") as scratch:
        artifact = compile(path, os.path.join(scratch, "model.dsx"), **compile_options)
        # The session keeps what it needs: the file may go once it is loaded.
        return Session(artifact, num_threads, device)
