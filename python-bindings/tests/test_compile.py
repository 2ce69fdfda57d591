"""ds.compile / ds.load of bad models (issue 15, item 15): the error names the
model file and the ONNX node, in the compiler's words without extra noise or
IR, and no temporary file is left behind, whatever happens."""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from onnx import helper

import ds
from model_builder import save_model


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """tempfile's directory, watched: the tests assert it ends empty."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def bad_node(tmp_path):
    return save_model(tmp_path / "bad.onnx", [helper.make_node("Add", ["a", "b"], ["y"],
                                                                name="bad_add")],
                      [("a", "f32", [2, 3]), ("b", "f32", [4, 5])], [("y", "f32", [2, 3])])


def test_failed_load_leaves_no_temp_file(bad_node, scratch):
    for attempt in range(3):
        with pytest.raises(ds.CompileError):
            ds.load(bad_node)
        with pytest.raises(ds.CompileError):
            ds.compile(bad_node)  # output=None: a temporary artifact
    assert os.listdir(scratch) == []


def test_load_of_a_good_model_leaves_no_temp_file(add_model, scratch):
    session = ds.load(add_model)
    assert os.listdir(scratch) == []
    out = session.run({"a": np.ones((2, 3), np.float32), "b": np.ones(3, np.float32)})
    np.testing.assert_array_equal(out["sum"], np.full((2, 3), 2, np.float32))


def test_compile_to_a_temp_file_is_the_callers(add_model, scratch):
    artifact = ds.compile(add_model)
    assert os.listdir(scratch) == [os.path.basename(artifact)]
    os.remove(artifact)


def test_error_names_file_and_node_without_noise(bad_node):
    with pytest.raises(ds.CompileError) as info:
        ds.load(bad_node)
    message = str(info.value)
    assert isinstance(info.value, ds.Error)
    assert message == (f"{bad_node}: error: node 'bad_add': operands are not "
                       "broadcast-compatible: 2x3 vs 4x5"), message


def test_failed_compile_keeps_an_existing_output(bad_node, tmp_path):
    output = tmp_path / "model.dsx"
    output.write_bytes(b"previous artifact")
    with pytest.raises(ds.CompileError):
        ds.compile(bad_node, output)
    assert output.read_bytes() == b"previous artifact"


def test_missing_model_file(tmp_path, scratch):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ds.CompileError, match="nope.onnx"):
        ds.load(missing)
    assert os.listdir(scratch) == []


def test_compiles_in_a_fresh_shell_without_ds_compile(add_model, tmp_path):
    """The installed package alone compiles, in-process: no ds-compile on PATH."""
    script = (
        "import sys, numpy as np, ds\n"
        "s = ds.load(sys.argv[1])\n"
        "out = s.run({'a': np.ones((2, 3), np.float32), 'b': np.arange(3, dtype=np.float32)})\n"
        "assert (out['sum'] == [[1, 2, 3], [1, 2, 3]]).all(), out\n"
        "print('ok')\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script, str(add_model)], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_training_options_need_a_gradient_compile(add_model, scratch):
    # LSQ's gradient scale, loss scaling and an optimizer only mean
    # something for gradients=True: asked for without it, they are refused.
    for options in ({"lsq_grad_scale": True}, {"loss_scaling": True}, {"optimizer": "sgd"}):
        with pytest.raises(ds.CompileError, match="are for a gradient compile"):
            ds.compile(add_model, **options)
    assert os.listdir(scratch) == []
