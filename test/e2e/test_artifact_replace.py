"""A loaded session is unaffected when its artifact is compiled again.

The runtime maps the artifact. ds-compile used to rewrite the file in place,
so a session that had it loaded silently ran the new weights, and a smaller new
file made it die with SIGBUS. ds-compile now writes a new file and renames it
over the old one: the session keeps the old file's pages.

The session runs in a child process so that a SIGBUS fails this test instead of
killing the test runner.
"""

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CHILD = r"""
import subprocess, sys
import numpy as np
import ds
compile_tool, artifact, same_size, smaller = sys.argv[1:5]
session = ds.Session(artifact)
x = {"X": np.linspace(-1, 1, 4 * 256, dtype=np.float32).reshape(4, 256)}
before = session.run(x)["Y"].copy()
for model in (same_size, smaller):
    subprocess.run([compile_tool, model, "-o", artifact, "--quiet"], check=True)
    after = session.run(x)["Y"]
    if after.tobytes() != before.tobytes():
        sys.exit(f"after recompiling {model}: the live session's output changed")
print("unchanged")
"""


def matmul_model(path, n_out, seed):
    w = np.random.default_rng(seed).standard_normal([256, n_out]).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])], "m",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [4, 256])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4, n_out])],
        [numpy_helper.from_array(w, "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_recompiling_the_artifact_leaves_a_live_session_alone(tmp_path):
    compile_tool = os.environ["DS_COMPILE"]
    first, same_size, smaller = (str(tmp_path / f"{n}.onnx") for n in ("first", "same", "small"))
    matmul_model(first, 256, 1)      # 256 KiB of weights
    matmul_model(same_size, 256, 2)  # other weights, same size
    matmul_model(smaller, 4, 3)      # a file 64 times smaller
    artifact = str(tmp_path / "model.dsx")
    subprocess.run([compile_tool, first, "-o", artifact, "--quiet"], check=True)
    child = subprocess.run([sys.executable, "-c", CHILD, compile_tool, artifact, same_size, smaller],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr}"
    assert child.stdout.strip() == "unchanged"
