"""One Session shared by many Python threads (issue 15, item 1): runs are
serialized inside the session and each run gets its own outputs, so every
thread sees the answer for its own input, and nothing hangs."""

import subprocess
import sys
import threading

import numpy as np
import pytest
from onnx import helper, numpy_helper

import ds
from model_builder import save_model

THREADS, RUNS = 8, 40


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.standard_normal(64).astype(np.float32), "bias")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"]),
             helper.make_node("Add", ["xw", "bias"], ["pre"]),
             helper.make_node("Relu", ["pre"], ["y"]),
             helper.make_node("Sigmoid", ["x"], ["z"])]
    path = tmp_path_factory.mktemp("threads") / "mlp.onnx"
    save_model(path, nodes, [("x", "f32", [32, 64])],
               [("y", "f32", [32, 64]), ("z", "f32", [32, 64])], [w, bias])
    return ds.compile(path, path.with_suffix(".dsx"))


@pytest.mark.parametrize("num_threads", [4, 1])
def test_one_session_many_python_threads(mlp, num_threads):
    session = ds.load(mlp, num_threads=num_threads)
    feeds = [{"x": np.random.default_rng(100 + t).standard_normal((32, 64)).astype(np.float32)}
             for t in range(THREADS)]
    expected = [session.run(f) for f in feeds]  # one thread at a time
    assert not np.array_equal(expected[0]["y"], expected[1]["y"])
    failures = []
    start = threading.Barrier(THREADS)

    def work(t):
        try:
            start.wait()
            for _ in range(RUNS):
                got = session.run(feeds[t])
                for name in ("y", "z"):
                    if not np.array_equal(got[name], expected[t][name]):
                        failures.append(f"thread {t}: output {name} differs")
                        return
        except Exception as e:  # a failure in a thread must fail the test
            failures.append(f"thread {t}: {type(e).__name__}: {e}")

    workers = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers), "runs on a shared session hang"
    assert not failures, failures[:5]


def test_inference_session_from_threads(mlp):
    session = ds.InferenceSession(mlp, providers=["CPUExecutionProvider"], num_threads=2)
    feeds = [{"x": np.full((32, 64), t, np.float32)} for t in range(4)]
    expected = [session.run(["y"], f)[0] for f in feeds]
    results = {}
    workers = [threading.Thread(target=lambda t=t: results.__setitem__(
        t, [session.run(["y"], feeds[t])[0] for _ in range(10)]), daemon=True) for t in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    for t in range(4):
        for got in results[t]:
            np.testing.assert_array_equal(got, expected[t])


def test_worker_threads_that_cannot_start_raise(mlp):
    """Item 7: when the session's worker threads cannot be created (address space
    capped just above what the process uses), creating it raises ds.Error at once
    instead of hanging."""
    code = f"""
import resource, ds
model = ds.Session({str(mlp)!r}, num_threads=1)  # loads everything a session needs
with open('/proc/self/status') as f:
    used = next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmSize:'))
resource.setrlimit(resource.RLIMIT_AS, (used + (48 << 20), resource.RLIM_INFINITY))
try:
    ds.Session({str(mlp)!r}, num_threads=64)
except ds.Error as e:
    print('raised:', e)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "raised:" in proc.stdout and "cannot start worker thread" in proc.stdout, proc.stdout
