"""Debian's PyTorch (python3-torch 1.13 under /usr/bin/python3), which the
tests that export PyTorch models run in a subprocess: -S and -E keep pip's
packages for this interpreter off its path (numpy 2 would break PyTorch
1.13); the scripts add Debian's dist-packages back themselves."""

import os
import subprocess

import pytest

TORCH_PYTHON = ["/usr/bin/python3", "-S", "-E", "-W", "ignore"]


def torch_available():
    probe = "import sys; sys.path.append('/usr/lib/python3/dist-packages'); import torch"
    try:
        return subprocess.run(TORCH_PYTHON + ["-c", probe], capture_output=True).returncode == 0
    except OSError:
        return False


# Skips a module where there is no PyTorch, unless DS_REQUIRE_TORCH=1 (CI
# sets it: there the comparison must run).
needs_torch = pytest.mark.skipif(
    not torch_available() and os.environ.get("DS_REQUIRE_TORCH") != "1",
    reason="needs PyTorch for /usr/bin/python3 (apt install python3-torch)")
