"""Shared fixtures of the Python API tests."""

import os

import pytest
from onnx import helper

from model_builder import REPO, save_model

_TOOL = os.path.join(os.environ.get("DS_BUILD_DIR", os.path.join(REPO, "build")), "bin",
                     "ds-compile")
if os.path.exists(_TOOL):  # for the subprocess path, when the extension has no compiler
    os.environ.setdefault("DS_COMPILE", _TOOL)


@pytest.fixture
def add_model(tmp_path):
    return save_model(tmp_path / "add.onnx", [helper.make_node("Add", ["a", "b"], ["sum"])],
                      [("a", "f32", [2, 3]), ("b", "f32", [3])], [("sum", "f32", [2, 3])])
