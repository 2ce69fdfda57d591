"""Shared fixtures of the Python API tests."""

import pytest
from onnx import helper

from model_builder import save_model


@pytest.fixture
def add_model(tmp_path):
    return save_model(tmp_path / "add.onnx", [helper.make_node("Add", ["a", "b"], ["sum"])],
                      [("a", "f32", [2, 3]), ("b", "f32", [3])], [("sum", "f32", [2, 3])])
