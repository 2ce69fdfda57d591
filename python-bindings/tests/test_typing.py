"""The package is typed (PEP 561): py.typed and the stubs are installed with
it, and the stubs name what the modules define."""

import ast
import os

import ds
from ds import _ds

PACKAGE = os.path.dirname(ds.__file__)
# Defined by compile.cpp, in builds that link the compiler.
COMPILER_ONLY = {"CompileError", "compile_onnx"}


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
    for name in ("py.typed", "_ds.pyi", "__init__.pyi"):
        assert os.path.isfile(os.path.join(PACKAGE, name)), name


def test_extension_stub_matches_the_module():
    names, _ = stub_names("_ds.pyi")
    runtime = {n for n in dir(_ds) if not n.startswith("_")}
    assert runtime - names == set(), "defined but not in _ds.pyi"
    assert names - runtime - COMPILER_ONLY == set(), "in _ds.pyi but not defined"


def test_package_stub_matches_the_package():
    names, all_names = stub_names("__init__.pyi")
    assert sorted(all_names) == sorted(ds.__all__)
    assert set(ds.__all__) <= names
