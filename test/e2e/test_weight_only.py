"""Weight-only quantization (ds.compile(quantize="int8-weights" | "int4-weights"),
ds-quantize-weights + ds-fold-weight-dequantize) on the checked-in PyTorch
exports of a LLaMA-style decoder (grouped-query attention, dynamic batch and
sequence) and a GPT-style decoder with a KV cache (a prefill and a one-token
decoding step). Each result is checked twice: against onnxruntime running
the same model with every MatMul weight replaced by its dequantized values
(the quantization done here in numpy as the pass documents it: symmetric,
max |w| / 127 or / 7 per column or per block of rows), which must agree to
float rounding, so the pass, the fold and the kernel are exact; and against
the fp32 model, which bounds what the quantization costs. An ONNX model with
DequantizeLinear on its weights (what weight-only quantizers write) runs on
ds's fused kernel and gives the same result."""

import os
import subprocess

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import ds

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")
BUILD = os.environ.get("DS_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))


def quantize(w, bits, block):
    """(codes, scales, dequantized) of a [K, N] weight as ds-quantize-weights does it."""
    qmax = 127 if bits == 8 else 7
    K, N = w.shape
    block = block or K
    codes = np.empty((K, N), np.int8)
    scales = np.empty(((K + block - 1) // block, N), np.float32)
    deq = np.empty_like(w)
    for b, k0 in enumerate(range(0, K, block)):
        rows = w[k0:k0 + block]
        absmax = np.abs(rows).max(0)
        s = np.where(absmax > 0, absmax / np.float32(qmax), np.float32(1)).astype(np.float32)
        q = np.clip(np.round(rows / s), -qmax, qmax).astype(np.int8)
        codes[k0:k0 + block], scales[b], deq[k0:k0 + block] = q, s, q.astype(np.float32) * s
    return codes, scales, deq


def weight_inputs(model):
    """(node, initializer name) of every MatMul reading a 2-D initializer as its rhs."""
    inits = {i.name: i for i in model.graph.initializer}
    return [(n, n.input[1]) for n in model.graph.node
            if n.op_type == "MatMul" and n.input[1] in inits and len(inits[n.input[1]].dims) == 2]


def rewritten(path, out, bits, block, as_dequantize_linear):
    """The model with each MatMul weight dequantized here (f32 values), or
    with DequantizeLinear nodes on the codes (opset 21)."""
    model = onnx.load(path)
    if as_dequantize_linear:  # blocked and 4-bit DequantizeLinear are opset 21
        model = onnx.version_converter.convert_version(model, 21)
    inits = {i.name: i for i in model.graph.initializer}
    for node, name in weight_inputs(model):
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        codes, scales, deq = quantize(w, bits, block)
        if not as_dequantize_linear:
            inits[name].CopyFrom(numpy_helper.from_array(deq, name))
            continue
        qtype = onnx.TensorProto.INT8 if bits == 8 else onnx.TensorProto.INT4
        q = helper.make_tensor(name + ".q", qtype, list(codes.shape), codes.ravel().tolist())
        per_column = block == 0
        s = numpy_helper.from_array(scales[0] if per_column else scales, name + ".s")
        model.graph.initializer.extend([q, s])
        attrs = {"axis": 1} if per_column else {"axis": 0, "block_size": block}
        model.graph.node.insert(0, helper.make_node("DequantizeLinear", [q.name, s.name],
                                                    [name + ".deq"], **attrs))
        node.input[1] = name + ".deq"
    onnx.save(model, out)
    return out


def llama_feeds():
    rng = np.random.default_rng(3)
    return [{"hidden_states": rng.standard_normal((2, 5, 64)).astype(np.float32)}]


def gpt_feeds():
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 100, (1, 6), dtype=np.int64)
    empty = np.zeros((1, 4, 0, 16), np.float32)
    past = rng.standard_normal((1, 4, 6, 16)).astype(np.float32)
    prefill = {"input_ids": ids, **{f"past_key_values.{i}.{kv}": empty
                                    for i in range(2) for kv in ("key", "value")}}
    decode = {"input_ids": ids[:, :1], **{f"past_key_values.{i}.{kv}": past
                                          for i in range(2) for kv in ("key", "value")}}
    return [prefill, decode]


CASES = [("llama_gqa", llama_feeds), ("gpt_kv", gpt_feeds)]
SCHEMES = [("int8-weights", 8, 0), ("int4-weights", 4, 32), ("int4-weights", 4, 0),
           ("int8-weights", 8, 16)]


def relative(a, b):
    return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b))


@pytest.mark.parametrize("name, feeds", CASES)
@pytest.mark.parametrize("quantize, bits, block", SCHEMES)
def test_weight_only_is_exact_and_close(tmp_path, name, feeds, quantize, bits, block):
    path = os.path.join(MODELS, f"{name}.onnx")
    reference = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    dequantized = ort.InferenceSession(
        rewritten(path, str(tmp_path / "deq.onnx"), bits, block, False),
        providers=["CPUExecutionProvider"])
    default_block = block if not (bits == 4 and block == 32) else None
    artifact = ds.compile(path, str(tmp_path / "w.dsx"), quantize=quantize,
                          weight_block_size=default_block)
    session = ds.Session(artifact)
    assert os.path.getsize(artifact) < os.path.getsize(path)
    for feed in feeds():
        got = list(session.run(feed).values())
        same_math = dequantized.run(None, feed)
        fp32 = reference.run(None, feed)
        for g, d, f in zip(got, same_math, fp32):
            assert g.dtype == np.float32 and g.shape == f.shape
            np.testing.assert_allclose(g, d, rtol=1e-4, atol=1e-5)
            # What quantization costs against fp32: int8 about 1%, int4 about 10%.
            assert relative(g, f) < (0.03 if bits == 8 else 0.3), relative(g, f)


@pytest.mark.parametrize("bits, block", [(8, 0), (4, 32)])
def test_dequantize_linear_models_run_on_the_fused_kernel(tmp_path, bits, block):
    path = os.path.join(MODELS, "llama_gqa.onnx")
    qdq = rewritten(path, str(tmp_path / "qdq.onnx"), bits, block, True)
    dequantized = ort.InferenceSession(rewritten(path, str(tmp_path / "deq.onnx"), bits, block,
                                                 False), providers=["CPUExecutionProvider"])
    ir = subprocess.run([os.path.join(BUILD, "bin", "ds-opt"), qdq, "--ds-compile-pipeline"],
                        capture_output=True, text=True, check=True).stdout
    assert ir.count("ds.matmul_quantized_weight") == 14 and "ds.dequantize" not in ir
    artifact = ds.compile(qdq, str(tmp_path / "q.dsx"))
    ours = ds.compile(path, str(tmp_path / "ours.dsx"),
                      quantize="int8-weights" if bits == 8 else "int4-weights")
    feed = llama_feeds()[0]
    got = ds.Session(artifact).run(feed)
    np.testing.assert_allclose(list(got.values())[0], dequantized.run(None, feed)[0],
                               rtol=1e-4, atol=1e-5)
    # The same codes and scales as ds's own pass: the same results.
    np.testing.assert_array_equal(list(got.values())[0],
                                  list(ds.Session(ours).run(feed).values())[0])


def test_bad_options_are_refused(tmp_path):
    path = os.path.join(MODELS, "llama_gqa.onnx")
    with pytest.raises(ds.CompileError, match="a weight block size is for quantize "
                                              "int8-weights or int4-weights"):
        ds.compile(path, quantize="dynamic", weight_block_size=32)
    with pytest.raises(ds.CompileError, match="is not available"):
        ds.compile(path, quantize="int2-weights")
    with pytest.raises(ValueError, match="weight_block_size -1 is negative"):
        ds.compile(path, quantize="int4-weights", weight_block_size=-1)
    with pytest.raises(ds.CompileError, match="runs on the CPU backend"):
        ds.compile(path, quantize="int8-weights", target="cuda")


@pytest.mark.parametrize("rows", [1, 7])
def test_unsigned_int4_weights_with_zero_points(tmp_path, rows):
    # DequantizeLinear of uint4 codes with uint4 zero points in blocks of 32
    # rows (K = 70: a last block cut short; N = 100: a 64-column group cut
    # short), on the streaming (1 row) and slab (7 rows) paths.
    rng = np.random.default_rng(5)
    K, N, block = 70, 100, 32
    blocks = (K + block - 1) // block
    codes = rng.integers(0, 16, (K, N)).astype(np.uint8)
    zero = rng.integers(0, 16, (blocks, N)).astype(np.uint8)
    scale = (rng.random((blocks, N)) * 0.1 + 0.01).astype(np.float32)
    u4 = onnx.TensorProto.UINT4
    graph = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=0, block_size=block),
         helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [rows, K])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [rows, N])],
        [helper.make_tensor("q", u4, [K, N], codes.ravel().tolist()),
         numpy_helper.from_array(scale, "s"),
         helper.make_tensor("z", u4, [blocks, N], zero.ravel().tolist())])
    path = str(tmp_path / "u4.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]), path)
    x = rng.standard_normal((rows, K)).astype(np.float32)
    deq = (codes.astype(np.float64) - np.repeat(zero, block, 0)[:K]) * np.repeat(scale, block, 0)[:K]
    got = ds.load(path).run({"x": x})["y"]
    np.testing.assert_allclose(got, x.astype(np.float64) @ deq, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("rows", [1, 5])
@pytest.mark.parametrize("bits", [8, 4])
def test_gemm_with_transposed_dequantized_weights(tmp_path, rows, bits):
    # A Gemm with transB over int8 / int4 weights stored [N, K] with one
    # scale per row (axis 0) and zero points, as weight-only exporters write
    # nn.Linear: the transpose moves the codes (folded at compile time), the
    # dequantize follows it per column, and the matmul reads the codes
    # (ds.matmul_quantized_weight), not an f32 copy made each run.
    rng = np.random.default_rng(6)
    K, N = 128, 96
    top = 100 if bits == 8 else 8
    codes = rng.integers(-top, top, (N, K)).astype(np.int8)
    zero = rng.integers(-3, 4, N).astype(np.int8)
    scale = (rng.random(N) * 0.01 + 0.005).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    if bits == 8:
        q, z = numpy_helper.from_array(codes, "q"), numpy_helper.from_array(zero, "z")
    else:
        i4 = onnx.TensorProto.INT4
        q = helper.make_tensor("q", i4, [N, K], codes.ravel().tolist())
        z = helper.make_tensor("z", i4, [N], zero.tolist())
    graph = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=0),
         helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [rows, K])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [rows, N])],
        [q, numpy_helper.from_array(scale, "s"), z, numpy_helper.from_array(bias, "b")])
    path = str(tmp_path / "gemm.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]), path)
    ir = subprocess.run([os.path.join(BUILD, "bin", "ds-opt"), path, "--ds-compile-pipeline"],
                        capture_output=True, text=True, check=True).stdout
    assert ir.count("ds.matmul_quantized_weight") == 1
    assert "ds.transpose" not in ir and "ds.dequantize" not in ir, ir
    x = rng.standard_normal((rows, K)).astype(np.float32)
    deq = (codes.astype(np.float64) - zero[:, None]) * scale[:, None]
    got = ds.load(path).run({"x": x})["y"]
    np.testing.assert_allclose(got, x.astype(np.float64) @ deq.T + bias, rtol=1e-4, atol=1e-4)
    expected = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
