"""3 x 3 convolutions that the CPU runtime runs in the Winograd domain
(cpu/WinogradConv.h: F(4x4, 3x3) on maps of 25 x 25 and more, F(2x2, 3x3) on
smaller ones), through a whole session, against onnxruntime and against the
convolutions in float64.

The graph: a 30 x 30 map (F(4x4)) with bias, ReLU and a residual add, a
max-pool to 15 x 15 (F(2x2)), a 7 x 7 map (F(2x2), 16 tiles), and a
convolution whose 20 channels are not a multiple of 16 (the direct path),
with a dynamic batch (run at 2). Weights scaled as He initialization does, so that activations
keep unit size through the layers, as in a trained network.

This checks a session end to end (the weights transformed when it starts,
the convolutions run on them); that the Winograd path itself runs, and on
which maps, test/Runtime/unit/WinogradConvTest.cpp checks, as the result
would be equally right on the direct path.
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ds


def conv_weights(rng, cout, cin):
    return (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32)


def build(path):
    rng = np.random.default_rng(7)
    inits, nodes = [], []

    def conv(x, cin, cout, name, pad=1, bias=True):
        w = numpy_helper.from_array(conv_weights(rng, cout, cin), f"{name}.w")
        inputs = [x, w.name]
        inits.append(w)
        if bias:
            b = numpy_helper.from_array(rng.uniform(-0.1, 0.1, cout).astype(np.float32), f"{name}.b")
            inits.append(b)
            inputs.append(b.name)
        nodes.append(helper.make_node("Conv", inputs, [name], kernel_shape=[3, 3],
                                      pads=[pad] * 4, name=name))
        return name

    y = conv("x", 32, 32, "conv1")                                       # 30 x 30
    nodes.append(helper.make_node("Relu", [y], ["relu1"]))
    y = conv("relu1", 32, 32, "conv2", bias=False)
    nodes.append(helper.make_node("Add", [y, "x"], ["res"]))             # residual
    nodes.append(helper.make_node("MaxPool", ["res"], ["pool"], kernel_shape=[2, 2],
                                  strides=[2, 2]))                       # 15 x 15
    y = conv("pool", 32, 48, "conv3")
    nodes.append(helper.make_node("MaxPool", [y], ["pool2"], kernel_shape=[2, 2],
                                  strides=[2, 2]))                       # 7 x 7
    y = conv("pool2", 48, 16, "conv4")
    y = conv(y, 16, 20, "conv5")                                          # 20 channels: direct
    graph = helper.make_graph(
        nodes, "winograd",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32, 30, 30])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["batch", 20, 7, 7]),
         helper.make_tensor_value_info("res", TensorProto.FLOAT, ["batch", 32, 30, 30])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def conv64(x, w, b, pad=1):
    """The convolution in float64 (NCHW, stride 1)."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, w.shape[0], h + 2 * pad - 2, wd + 2 * pad - 2))
    for kh in range(3):
        for kw in range(3):
            patch = xp[:, :, kh:kh + out.shape[2], kw:kw + out.shape[3]]
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, kh, kw])
    return out + (0 if b is None else b[None, :, None, None])


def reference64(path, x):
    """The graph in float64 from its own initializers."""
    weights = {t.name: numpy_helper.to_array(t).astype(np.float64)
               for t in onnx.load(path).graph.initializer}
    pool = lambda v: v[:, :, :v.shape[2] // 2 * 2, :v.shape[3] // 2 * 2].reshape(
        v.shape[0], v.shape[1], v.shape[2] // 2, 2, v.shape[3] // 2, 2).max(axis=(3, 5))
    x = x.astype(np.float64)
    y = np.maximum(conv64(x, weights["conv1.w"], weights["conv1.b"]), 0)
    res = conv64(y, weights["conv2.w"], None) + x
    y = pool(conv64(pool(res), weights["conv3.w"], weights["conv3.b"]))
    y = conv64(conv64(y, weights["conv4.w"], weights["conv4.b"]), weights["conv5.w"],
               weights["conv5.b"])
    return y, res


@pytest.mark.parametrize("threads", [1, 2])
def test_winograd_convolutions_match(tmp_path, threads):
    path = str(tmp_path / "winograd.onnx")
    build(path)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 30, 30)).astype(np.float32)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    session = ds.load(path, num_threads=threads)
    got = session.run({"x": x})
    names = [o["name"] for o in session.outputs]
    exact = reference64(path, x)
    for name, ort_value, true_value in zip(names, expected, exact):
        actual = got[name]
        assert actual.shape == ort_value.shape and actual.dtype == np.float32
        assert np.isfinite(actual).all()
        np.testing.assert_allclose(actual, ort_value, rtol=1e-4, atol=1e-5, err_msg=name)
        # The rounding the transforms add, against the exact values: under
        # 1e-5 of the output size (measured: 4.1e-6 on `res`, where
        # onnxruntime's direct sums are within 2.8e-7).
        ds_error = np.abs(actual - true_value).max()
        assert ds_error <= 1e-5 * np.abs(true_value).max(), (name, ds_error)
