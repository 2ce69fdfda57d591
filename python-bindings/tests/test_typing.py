"""The package is typed (PEP 561): py.typed and the stubs are installed with
it, and the stubs name what the modules define."""

import ast
import os

import subprocess
import sys

import pytest

import ds
from ds import _ds, _ds_compiler

PACKAGE = os.path.dirname(ds.__file__)


def stub_names(name):
    with open(os.path.join(PACKAGE, name)) as f:
        tree = ast.parse(f.read())
    names, all_names = set(), None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.level:  # re-exports
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Assign) and node.targets[0].id == "__all__":
            all_names = ast.literal_eval(node.value)
    return names, all_names


def test_typing_files_are_installed():
    for name in ("py.typed", "_ds.pyi", "_ds_compiler.pyi", "__init__.pyi"):
        assert os.path.isfile(os.path.join(PACKAGE, name)), name


@pytest.mark.parametrize("module, stub", [(_ds, "_ds.pyi"), (_ds_compiler, "_ds_compiler.pyi")])
def test_extension_stub_matches_the_module(module, stub):
    names, _ = stub_names(stub)
    defined = {n for n in dir(module) if not n.startswith("_")}
    assert defined - names == set(), f"defined but not in {stub}"
    assert names - defined == set(), f"in {stub} but not defined"


def test_running_an_artifact_does_not_load_the_compiler(tmp_path):
    """ds._ds (the runtime) stays light: LLVM comes in with ds._ds_compiler only."""
    code = ("import sys, ds; "
            "print('ds._ds_compiler' in sys.modules, "
            "any('libLLVM' in l for l in open('/proc/self/maps')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout


def test_package_stub_matches_the_package():
    names, all_names = stub_names("__init__.pyi")
    assert sorted(all_names) == sorted(ds.__all__)
    assert set(ds.__all__) <= names
