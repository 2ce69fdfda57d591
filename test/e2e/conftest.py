"""Shared fixtures of the end-to-end tests: the built tools and generated models."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DS_BUILD_DIR", os.path.join(REPO, "build"))


@pytest.fixture(scope="session", autouse=True)
def _tools():
    compile_tool = os.path.join(BUILD, "bin", "ds-compile")
    if not os.path.exists(compile_tool):
        pytest.exit(f"{compile_tool} is missing: build the project first", returncode=2)
    os.environ.setdefault("DS_COMPILE", compile_tool)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, os.path.join(REPO, "utils", "gen_models.py"), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out
