"""precision="auto" (ds-assign-precision policy=auto) on PyTorch-exported
models: a calibration run measures each op mixed precision may lower in
fp16 / bf16 against fp32 (ds.calibrate(precision=...), ds-calibrate
--precision), and the compile keeps in fp32 exactly the ops that overflowed
or missed fp32 by more than the budget. On a model whose values leave fp16's
range (torch_precision_models.py's hazard) plain fp16 is wrong and auto is
not; on a BERT-style encoder and a LLaMA-style decoder auto blocks nothing
the default policy lowers and is as accurate as fp16. In fp8 (per-tensor
e4m3, emulated) the calibration measures the contractions alone; on a model
with a massive-activation channel (the outlier model) auto keeps the layer
that reads it in fp32 and is about three times as accurate as plain fp8,
and on the transformers it blocks nothing. The CLI and the
Python API write the same table; misuse is refused with a clear message."""

import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

import ds

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("DS_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
sys.path.insert(0, HERE)
from torch_python import TORCH_PYTHON, needs_torch  # noqa: E402

pytestmark = needs_torch


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("precision-auto")
    done = subprocess.run(TORCH_PYTHON + [os.path.join(HERE, "torch_precision_models.py"),
                                          str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def samples(name, count, seed):
    rng = np.random.default_rng(seed)
    feeds = []
    for _ in range(count):
        if name in ("hazard", "outlier"):
            feeds.append({"x": rng.standard_normal((8, 64)).astype(np.float32)})
        elif name == "bert":
            mask = np.ones((2, 8), np.int64)
            mask[1, -3:] = 0
            feeds.append({"input_ids": rng.integers(0, 50, (2, 8), dtype=np.int64),
                          "attention_mask": mask})
        else:
            feeds.append({"hidden_states": rng.standard_normal((2, 8, 32)).astype(np.float32)})
    return feeds


def relative_error(got, ref):
    return float(np.linalg.norm(got.astype(np.float64) - ref) / np.linalg.norm(ref))


def table_entries(path):
    lines = open(path).read().splitlines()
    assert lines[0] == "# ds precision table 1"
    entries = {}
    for line in lines[2:]:
        error, overflows, absmax, name = line.split(" ", 3)
        entries[name] = (float(error), int(overflows), float(absmax))
    return lines[1], entries


def calibrated(exported, tmp_path, name, low, count):
    """The precision table of `name` in `low` over `count` samples, and its
    entries (the header checked)."""
    table = ds.calibrate(str(exported / f"{name}.onnx"), samples(name, count, 0),
                         tmp_path / f"{name}.table", precision=low)
    header, entries = table_entries(table)
    assert header == f"type={low} samples={count}"
    return table, entries


def report_lines(path):
    """{node and op: (precision, reason)} of a precision report."""
    lines = {}
    for line in open(path).read().splitlines()[:-1]:
        node, rest = line.split(" ", 1)
        parts = rest.split(" ")
        # "ds.binary mul f32 why..." or "ds.matmul f16 why..."
        width = 2 if parts[0] in ("ds.binary", "ds.unary", "ds.reduce") else 1
        op = " ".join(parts[:width])
        lines.setdefault(f"{node} {op}", []).append((parts[width], " ".join(parts[width + 1:])))
    return lines


def test_auto_keeps_what_fp16_breaks_in_fp32(exported, tmp_path):
    path = str(exported / "hazard.onnx")
    table, entries = calibrated(exported, tmp_path, "hazard", "fp16", 4)
    # h * h passes 65504; sqrt reads its f32 sum, past 65504 too; h * 1e-5 * W
    # lands among fp16's subnormals; the constant 1e5 becomes 65504 in fp16
    # (clamped, as the compile converts it), a third off.
    budget = 16 * 2.0**-11
    assert entries["/Mul_1"][1] > 0 and entries["/Mul_1"][2] > 65504
    assert entries["/Sqrt"][1] > 0
    assert entries["/Mul_2"][1] == 0 and entries["/Mul_2"][0] > budget
    assert entries["/Mul_3"][1] == 0 and 0.3 < entries["/Mul_3"][0] < 0.4
    assert all(e[1] == 0 and e[0] < 2e-3 for k, e in entries.items()
               if k.startswith(("/fc1", "/fc2", "/fc3")))

    x = samples("hazard", 1, 99)[0]  # not one of the calibration samples
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, x)[0]
    fp16 = ds.load(path, precision="fp16").run(x)["y"]
    assert relative_error(fp16, ref) > 0.1  # the hazard is real
    report = tmp_path / "report.txt"
    auto = ds.load(path, precision="auto", precision_table=table,
                   precision_report=report).run(x)["y"]
    assert auto.dtype == np.float32 and np.isfinite(auto).all()
    assert relative_error(auto, ref) < 2e-3
    lines = report_lines(report)
    assert lines["/Mul_1 ds.binary mul"][0][0] == "f32"
    assert "overflows f16 in calibration" in lines["/Mul_1 ds.binary mul"][0][1]
    assert lines["/Mul_2 ds.binary mul"][0][1].startswith("calibrated error 0.0")
    assert lines["/Mul_3 ds.binary mul"][0][1].startswith("calibrated error 0.3")
    # The contractions stay in fp16, with their measured error.
    for node in ("/fc1/Gemm", "/fc2/MatMul", "/fc3/Gemm"):
        precision, why = lines[f"{node} ds.matmul"][0]
        assert precision == "f16" and "calibrated error" in why, (node, why)
    # Calibrating inside ds.compile gives the same artifact as the table.
    inline = ds.load(path, precision="auto", calibration_data=samples("hazard", 4, 0)).run(x)
    np.testing.assert_array_equal(inline["y"], auto)


def test_auto_fp8_keeps_the_outlier_layer_in_fp32(exported, tmp_path):
    path = str(exported / "outlier.onnx")
    table, entries = calibrated(exported, tmp_path, "outlier", "fp8", 4)
    # The three Gemms alone: the relu and the gain are not fp8 ops.
    assert sorted(entries) == ["/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"]
    assert all(e[1] == 0 for e in entries.values())
    # fc1 and fc3 read well-spread values: what rounding both operands to
    # e4m3 costs. fc2 reads the massive channel: under one scale per tensor
    # the other channels keep a bit or two.
    for node in ("/fc1/Gemm", "/fc3/Gemm"):
        assert 0.01 < entries[node][0] < 0.06, (node, entries[node])
    assert entries["/fc2/Gemm"][0] > 0.15, entries["/fc2/Gemm"]

    x = samples("outlier", 1, 99)[0]  # not one of the calibration samples
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, x)[0]
    fp8 = ds.load(path, precision="fp8").run(x)["y"]
    report = tmp_path / "report.txt"
    auto = ds.load(path, precision="auto", precision_table=table,
                   precision_report=report).run(x)["y"]
    assert auto.dtype == np.float32 and np.isfinite(auto).all()
    plain_error, auto_error = relative_error(fp8, ref), relative_error(auto, ref)
    # (0.148 and 0.054 here.)
    assert plain_error > 0.12 and auto_error < 0.07 and auto_error < plain_error / 2.5, \
        (plain_error, auto_error)
    lines = report_lines(report)
    precision, why = lines["/fc2/Gemm ds.matmul"][0]
    assert precision == "fp32" and why.startswith("calibrated error 0.") and \
        why.endswith("> budget 0.08"), why
    for node in ("/fc1/Gemm", "/fc3/Gemm"):
        precision, why = lines[f"{node} ds.matmul"][0]
        assert precision == "fp8" and "(calibrated error 0.0" in why, (node, why)
    # Calibrating inside ds.compile gives the same artifact; a budget past
    # fc2's error gives plain fp8's.
    inline = ds.load(path, precision="auto", auto_precision="fp8",
                     calibration_data=samples("outlier", 4, 0)).run(x)
    np.testing.assert_array_equal(inline["y"], auto)
    loose = ds.load(path, precision="auto", precision_table=table,
                    precision_error_budget=10.0).run(x)["y"]
    np.testing.assert_array_equal(loose, fp8)


@pytest.mark.parametrize("name", ["bert", "llama"])
@pytest.mark.parametrize("low", ["fp16", "bf16", "fp8"])
def test_auto_blocks_nothing_on_transformers(exported, tmp_path, name, low):
    path = str(exported / f"{name}.onnx")
    table, entries = calibrated(exported, tmp_path, name, low, 3)
    report = tmp_path / "report.txt"
    feeds = samples(name, 1, 7)[0]
    auto = ds.load(path, precision="auto", precision_table=table,
                   precision_report=report).run(feeds)["y"]
    plain = ds.load(path, precision=low).run(feeds)["y"]
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    assert entries and all(e[1] == 0 for e in entries.values())
    if low == "fp8":
        # What fp8's default budget (0.08) is set from: every matmul's own
        # error on these exports (0.021 to 0.044 here), about half of it.
        assert all(0.015 < e[0] < 0.05 for e in entries.values()), entries
    text = open(report).read()
    assert "calibrated error" in text and "> budget" not in text and "overflows" not in text
    # Same decisions as the default policy: the same values.
    np.testing.assert_array_equal(auto, plain)
    # (fp8: 0.018 and 0.020 here, each matmul's own error 0.021 to 0.044.)
    assert relative_error(auto, ref) < {"fp16": 3e-3, "bf16": 2e-2, "fp8": 4e-2}[low]


def test_inline_calibration_compiles_as_the_model_is_compiled(exported):
    # Without attention raising the model keeps its QK and PV matmuls: the
    # calibration run must see them too (ds.compile forwards its options).
    path = str(exported / "bert.onnx")
    feeds = samples("bert", 1, 7)[0]
    got = ds.load(path, precision="auto", raise_attention=False,
                  calibration_data=samples("bert", 2, 0)).run(feeds)["y"]
    plain = ds.load(path, precision="fp16", raise_attention=False).run(feeds)["y"]
    np.testing.assert_array_equal(got, plain)


def test_cli_writes_the_python_table(exported, tmp_path):
    path = str(exported / "hazard.onnx")
    data = tmp_path / "data"
    data.mkdir()
    feeds = samples("hazard", 3, 5)
    for i, f in enumerate(feeds):
        np.save(data / f"{i}.npy", f["x"])
    tool = os.path.join(BUILD, "bin", "ds-calibrate")
    done = subprocess.run([tool, path, str(data), "-o", str(tmp_path / "cli.table"),
                           "--precision=bf16", "--threads", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ops measured in bf16 over 3 samples" in done.stdout
    py = ds.calibrate(path, feeds, tmp_path / "py.table", precision="bf16")
    assert open(py).read() == (tmp_path / "cli.table").read_text()
    # The compile takes the table's type.
    report = tmp_path / "r.txt"
    compile_tool = os.path.join(BUILD, "bin", "ds-compile")
    done = subprocess.run([compile_tool, path, "--precision=auto",
                           f"--precision-table={py}", f"--precision-report={report}",
                           "-o", str(tmp_path / "m.dsx"), "--quiet"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert "/fc1/Gemm ds.matmul bf16 contraction (calibrated error" in report.read_text()


def test_misuse_is_refused(exported, tmp_path):
    path = str(exported / "hazard.onnx")
    with pytest.raises(ValueError, match="precision='auto' needs a precision_table"):
        ds.compile(path, precision="auto")
    table = ds.calibrate(path, samples("hazard", 1, 0), tmp_path / "t.table", precision="fp16")
    with pytest.raises(ValueError, match="precision_table is for precision='auto'"):
        ds.compile(path, precision="fp16", precision_table=table)
    with pytest.raises(ValueError, match="does not combine with quantize='dynamic'"):
        ds.compile(path, precision="auto", quantize="dynamic",
                   calibration_data=samples("hazard", 1, 0))
    with pytest.raises(ValueError, match="not fp16, bf16 or fp8"):
        ds.calibrate(path, samples("hazard", 1, 0), precision="int8")
    with pytest.raises(ValueError, match="measures errors, not ranges"):
        ds.calibrate(path, samples("hazard", 1, 0), precision="fp16", method="entropy")
    with pytest.raises(ValueError, match="give precision_table or calibration_data, not both"):
        ds.compile(path, precision="auto", precision_table=table,
                   calibration_data=samples("hazard", 1, 0))
    with pytest.raises(ValueError, match="a precision_table has its own"):
        ds.compile(path, precision="auto", precision_table=table, auto_precision="bf16")
    with pytest.raises(ValueError, match="auto_precision 'int8' is not fp16, bf16 or fp8"):
        ds.compile(path, precision="auto", auto_precision="int8",
                   calibration_data=samples("hazard", 1, 0))
    with pytest.raises(ValueError, match="smooth_quant is for quantize='static'"):
        ds.compile(path, precision="auto", smooth_quant=0.5,
                   calibration_data=samples("hazard", 1, 0))
    with pytest.raises(ValueError, match="does not combine with quantize='dynamic'"):
        ds.compile(path, precision="auto", precision_table=table, quantize="dynamic")
    with pytest.raises(ds.CompileError, match="error budget must be at least 0"):
        ds.compile(path, precision="auto", precision_table=table, precision_error_budget=-1)
    # A table of another model names ops this one does not have.
    other = tmp_path / "other.table"
    other.write_text("# ds precision table 1\ntype=fp16 samples=1\n0.001 0 1 fc\n")
    with pytest.raises(ds.CompileError, match="has no measurement of '/fc1/Gemm' \\(ds.matmul\\) nor of 12 later ops"):
        ds.compile(path, precision="auto", precision_table=other)
