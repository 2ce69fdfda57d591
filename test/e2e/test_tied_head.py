"""A tied output head: logits = h @ E^T where E is also the embedding table.

The export writes Gather(E, ids) ... MatMul(h, Transpose(E)); the compiler
keeps the transpose (folding it would store E twice), and the CPU runtime
gives the matmul a kernel that reads E as it is, packed once at load, instead
of transposing the whole table on every run (core/WeightTransposes.cpp).
Checked: outputs against onnxruntime (static and dynamic batch), the
profile naming the in-place kernel, and the cases the rewrite must leave
alone (the transpose also an output, or read by another op)."""

import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

VOCAB, HIDDEN = 203, 40  # a short last panel of 16 columns
# Over the 1 MiB a shape plan computes ahead: the transposed table of the
# dynamic case would take arena memory, were the elided step given any.
LARGE_VOCAB = 7003


def tied_model(path, batch="batch", vocab=VOCAB, transposed_output=False,
               transposed_also_added=False, transposed_as_lhs=False):
    rng = np.random.default_rng(7)
    table = rng.standard_normal((vocab, HIDDEN)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["embedded"]),
        helper.make_node("Tanh", ["embedded"], ["hidden"]),
        helper.make_node("Transpose", ["table"], ["table_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["hidden", "table_t"], ["logits"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 5, vocab])]
    if transposed_output:
        outputs.append(helper.make_tensor_value_info("table_t", TensorProto.FLOAT,
                                                     [HIDDEN, vocab]))
    if transposed_also_added:
        nodes.append(helper.make_node("Add", ["table_t", "table_t"], ["doubled"]))
        outputs.append(helper.make_tensor_value_info("doubled", TensorProto.FLOAT,
                                                     [HIDDEN, vocab]))
    if transposed_as_lhs:  # E^T E: the transpose is a matmul's lhs there
        nodes.append(helper.make_node("MatMul", ["table_t", "table"], ["gram"]))
        outputs.append(helper.make_tensor_value_info("gram", TensorProto.FLOAT,
                                                     [HIDDEN, HIDDEN]))
    graph = helper.make_graph(
        nodes, "tied_head",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [batch, 5])], outputs,
        [numpy_helper.from_array(table, "table")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return path


def ids(batch):
    return np.random.default_rng(batch).integers(0, VOCAB, (batch, 5), dtype=np.int64)


def run_ds(model, batch, profile=False, threads=1):
    """Outputs of ds on `model` (a fresh process, so DS_CPU_PROFILE applies)
    and the profile it printed."""
    script = (
        "import sys, numpy as np, ds\n"
        "s = ds.Session(ds.compile(sys.argv[1]), num_threads=int(sys.argv[4]))\n"
        "x = np.load(sys.argv[2])\n"
        "out = [s.run({'ids': x}) for _ in range(2)][-1]\n"
        "np.savez(sys.argv[3], **out)\n"
        "del s\n")
    folder = os.path.dirname(model)
    feed, result = os.path.join(folder, f"ids{batch}.npy"), os.path.join(folder, f"out{batch}.npz")
    np.save(feed, ids(batch))
    env = dict(os.environ)
    env.pop("DS_CPU_PROFILE", None)
    if profile:
        env["DS_CPU_PROFILE"] = "1"
    done = subprocess.run([sys.executable, "-c", script, model, feed, result, str(threads)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with np.load(result) as outputs:
        return {name: outputs[name] for name in outputs.files}, done.stderr


def reference(model, batch):
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {"ids": ids(batch)})))


@pytest.mark.parametrize("batch,threads", [(1, 1), (3, 1), (3, 2)])
def test_tied_head_reads_the_table_in_place(tmp_path, batch, threads):
    model = tied_model(str(tmp_path / "tied.onnx"), batch=batch)
    got, report = run_ds(model, batch, profile=True, threads=threads)
    assert "ds.matmul_transposed_constant -> f32" in report, report
    assert "ds.transpose" not in report, report  # elided: no unit at all
    want = reference(model, batch)
    np.testing.assert_allclose(got["logits"], want["logits"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("vocab", [VOCAB, LARGE_VOCAB])
def test_tied_head_with_a_dynamic_batch(tmp_path, vocab):
    model = tied_model(str(tmp_path / "tied_dynamic.onnx"), vocab=vocab)
    for batch in (2, 4):
        got, report = run_ds(model, batch, profile=True)
        assert "ds.matmul_transposed_constant" in report, report
        assert "ds.transpose" not in report, report  # elided: no unit at all
        np.testing.assert_allclose(got["logits"], reference(model, batch)["logits"],
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["transposed_output", "transposed_also_added",
                                  "transposed_as_lhs"])
def test_transposes_read_elsewhere_still_run(tmp_path, kind):
    model = tied_model(str(tmp_path / f"{kind}.onnx"), batch=2, **{kind: True})
    got, report = run_ds(model, 2, profile=True)
    assert "ds.matmul_transposed_constant" not in report, report
    want = reference(model, 2)
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5)
