"""int4 / int2 constants keep their sign through the artifact.

MLIR holds an i4 / i2 element in a byte with its bits zero-extended; the
runtime reads signed sub-byte storage as int8, so the artifact writer must
sign-extend (DequantizeLinear of int4 [-8, -1, 0, 3, 7] gave [8, 15, 0, 3, 7]).
Each model is compiled with ds-compile, run with ds-run and compared with numpy
(and with onnxruntime where it implements the op at that opset).
"""

import os
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T, helper

INT4 = [-8, -1, 0, 3, 7]
INT2 = [-2, -1, 0, 1]


def tools():
    compile_tool = os.environ["DS_COMPILE"]
    return compile_tool, os.path.join(os.path.dirname(compile_tool), "ds-run")


def run_ds(model, tmp_path, feeds):
    compile_tool, run_tool = tools()
    model_path, artifact = str(tmp_path / "m.onnx"), str(tmp_path / "m.dsx")
    onnx.save(model, model_path)
    subprocess.run([compile_tool, model_path, "-o", artifact, "--quiet"], check=True)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [run_tool, artifact, "--runs", "1", "--warmup", "0", "--quiet",
            "--output-dir", str(out_dir)]
    for name, value in feeds.items():
        np.save(tmp_path / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp_path / f'{name}.npy'}"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return np.load(out_dir / "y.npy")


def dequant_model(elem, values, zero_point, opset, matmul=False):
    """y = DequantizeLinear(w, 0.5, zero_point), or x @ that for matmul (w is 5 x 1)."""
    dims = [len(values), 1] if matmul else [len(values)]
    inits = [helper.make_tensor("w", elem, dims, values), helper.make_tensor("s", T.FLOAT, [], [0.5])]
    inputs = ["w", "s"]
    if zero_point is not None:
        inits.append(helper.make_tensor("zp", elem, [], [zero_point]))
        inputs.append("zp")
    nodes = [helper.make_node("DequantizeLinear", inputs, ["d" if matmul else "y"])]
    graph_inputs = []
    out_shape = dims
    if matmul:
        nodes.append(helper.make_node("MatMul", ["x", "d"], ["y"]))
        graph_inputs = [helper.make_tensor_value_info("x", T.FLOAT, [2, len(values)])]
        out_shape = [2, 1]
    graph = helper.make_graph(nodes, "q", graph_inputs,
                              [helper.make_tensor_value_info("y", T.FLOAT, out_shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=10 if opset < 25 else 11)


CASES = [  # (id, element type, values, zero point, opset)
    ("int4", T.INT4, INT4, None, 21),
    ("int4_zero_point", T.INT4, INT4, -3, 21),
    ("uint4_zero_point", T.UINT4, [0, 3, 8, 15, 1], 8, 21),
    ("int2", T.INT2, INT2, None, 25),
    ("int2_zero_point", T.INT2, INT2, -1, 25),
]


def expected(values, zero_point, matmul_input=None):
    w = (np.array(values, np.float32) - (zero_point or 0)) * 0.5
    return w if matmul_input is None else matmul_input @ w.reshape(-1, 1)


def check_with_ort(model, feeds, got):
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    # Unoptimized: its DequantizeLinear + MatMul fusion rounds differently.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
    except Exception:  # an opset or type onnxruntime does not implement
        return
    np.testing.assert_allclose(got, session.run(None, feeds)[0], rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_dequantize_constant(tmp_path, case):
    _, elem, values, zero_point, opset = case
    model = dequant_model(elem, values, zero_point, opset)
    got = run_ds(model, tmp_path, {})
    np.testing.assert_array_equal(got, expected(values, zero_point))
    check_with_ort(model, {}, got)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_dequantized_weight_behind_matmul(tmp_path, case):
    _, elem, values, zero_point, opset = case
    model = dequant_model(elem, values, zero_point, opset, matmul=True)
    x = np.arange(2 * len(values), dtype=np.float32).reshape(2, len(values)) - 3
    got = run_ds(model, tmp_path, {"x": x})
    np.testing.assert_allclose(got, expected(values, zero_point, x), rtol=1e-6)
    check_with_ort(model, {"x": x}, got)
