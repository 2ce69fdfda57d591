"""DS_CPU_PROFILE: a CPU session's time per op, printed when the session ends.

The report names the ops (fusion groups as "fused(...)") with their result
types, counts the runs after the first (the warm-up run is left out), and
is absent without the variable or with it set to 0. Profiling changes no
output."""

import os
import subprocess
import sys

import numpy as np

from chains import activation_chain

SCRIPT = r"""
import sys
import numpy as np
import ds
session = ds.Session(ds.compile(sys.argv[1], fuse=sys.argv[2] == "1"), num_threads=1)
x = np.linspace(-2, 2, 64 * 64, dtype=np.float32).reshape(64, 64)
outputs = [session.run({"input0": x}) for _ in range(4)]
np.save(sys.argv[3], next(iter(outputs[-1].values())))
del session
"""


def profiled(tmp_path, model, fuse, value):
    env = dict(os.environ)
    env.pop("DS_CPU_PROFILE", None)
    if value is not None:
        env["DS_CPU_PROFILE"] = value
    out = str(tmp_path / f"out-{fuse}-{value}.npy")
    done = subprocess.run([sys.executable, "-c", SCRIPT, model, "1" if fuse else "0", out],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr, np.load(out)


def test_profile_names_ops_and_counts_runs_after_the_first(tmp_path):
    model = activation_chain(str(tmp_path / "chain.mlir"), 6, 64)
    plain, expected = profiled(tmp_path, model, False, None)
    assert "CPU profile" not in plain
    report, got = profiled(tmp_path, model, False, "1")
    assert "ds: CPU profile, 3 runs after the first" in report, report
    assert "ds.unary -> f32[64x64]" in report, report
    np.testing.assert_array_equal(got, expected)
    off, _ = profiled(tmp_path, model, False, "0")
    assert "CPU profile" not in off


def test_profile_labels_fusion_groups(tmp_path):
    model = activation_chain(str(tmp_path / "chain.mlir"), 6, 64)
    report, _ = profiled(tmp_path, model, True, "1")
    assert "fused(ds." in report, report
