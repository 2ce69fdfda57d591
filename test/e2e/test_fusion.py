"""Fusion groups (ds-fuse's decision, run by the CPU runtime in tiles of rows)
give the results of the same program run op by op (compiled with fuse=False)
and of onnxruntime: elementwise chains with whole-shape, scalar and
bias-vector operands, a cast and a compare/select; matmul epilogues (bias,
GELU, residual); a scaled and masked softmax; layer normalization with its
producers. Every output, at 1 and 2 threads."""

import os

import numpy as np
import pytest
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import ds


def test_fused_chain_matches_onnxruntime(tmp_path):
    shape = [8, 128, 96]
    rng = np.random.default_rng(3)
    bias = numpy_helper.from_array(rng.standard_normal(96).astype(np.float32), "bias")
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["a"]),
        helper.make_node("Mul", ["a", "half"], ["b"]),
        helper.make_node("Erf", ["b"], ["c"]),
        helper.make_node("Add", ["c", "residual"], ["d"]),
        helper.make_node("Sigmoid", ["d"], ["e"]),
        helper.make_node("Greater", ["e", "half"], ["mask"]),
        helper.make_node("Where", ["mask", "e", "zero"], ["f"]),
        helper.make_node("Cast", ["f"], ["g"], to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["g"], ["y"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape),
         helper.make_tensor_value_info("residual", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], [bias, half, zero])
    path = str(tmp_path / "chain.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)

    feeds = {"x": rng.standard_normal(shape).astype(np.float32),
             "residual": rng.standard_normal(shape).astype(np.float32)}
    expected = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    for threads in (1, 2):
        got = ds.load(path, num_threads=threads).run(feeds)["y"]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def transformer_block(path, batch=2, seq=64, hidden=96, heads=4):
    """Attention scores with a scale and a padding mask, softmax, context,
    then a projection with bias + residual, LayerNormalization, and an MLP
    with an erf-GELU: the groups a BERT layer gives ds-fuse."""
    rng = np.random.default_rng(11)
    head = hidden // heads
    init = lambda name, *shape: numpy_helper.from_array(
        (rng.standard_normal(shape) * 0.2).astype(np.float32), name)
    consts = [init("wo", hidden, hidden), init("bo", hidden), init("w1", hidden, 4 * hidden),
              init("b1", 4 * hidden), init("w2", 4 * hidden, hidden), init("b2", hidden),
              init("gamma", hidden), init("beta", hidden),
              numpy_helper.from_array(np.array(1 / np.sqrt(head), np.float32), "scale"),
              numpy_helper.from_array(np.array(0.5, np.float32), "half"),
              numpy_helper.from_array(np.array(1.0, np.float32), "one"),
              numpy_helper.from_array(np.array(np.sqrt(0.5), np.float32), "rsqrt2"),
              numpy_helper.from_array(np.array([batch, seq, hidden], np.int64), "merged")]
    node = helper.make_node
    nodes = [
        node("MatMul", ["q", "kt"], ["scores"]),
        node("Mul", ["scores", "scale"], ["scaled"]),
        node("Add", ["scaled", "mask"], ["masked"]),
        node("Softmax", ["masked"], ["probs"], axis=-1),
        node("MatMul", ["probs", "v"], ["context"]),
        node("Transpose", ["context"], ["context_t"], perm=[0, 2, 1, 3]),
        node("Reshape", ["context_t", "merged"], ["context_m"]),
        node("MatMul", ["context_m", "wo"], ["proj"]),
        node("Add", ["proj", "bo"], ["proj_b"]),
        node("Add", ["proj_b", "x"], ["residual"]),
        node("LayerNormalization", ["residual", "gamma", "beta"], ["normed"], axis=-1,
             epsilon=1e-5),
        node("MatMul", ["normed", "w1"], ["up"]),
        node("Add", ["up", "b1"], ["up_b"]),
        node("Mul", ["up_b", "rsqrt2"], ["up_s"]),
        node("Erf", ["up_s"], ["up_e"]),
        node("Add", ["up_e", "one"], ["up_1"]),
        node("Mul", ["up_b", "up_1"], ["up_m"]),
        node("Mul", ["up_m", "half"], ["gelu"]),
        node("MatMul", ["gelu", "w2"], ["down"]),
        node("Add", ["down", "b2"], ["down_b"]),
        node("Add", ["down_b", "normed"], ["y"]),
    ]
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "block",
        [helper.make_tensor_value_info("q", f32, [batch, heads, seq, head]),
         helper.make_tensor_value_info("kt", f32, [batch, heads, head, seq]),
         helper.make_tensor_value_info("v", f32, [batch, heads, seq, head]),
         helper.make_tensor_value_info("mask", f32, [batch, 1, 1, seq]),
         helper.make_tensor_value_info("x", f32, [batch, seq, hidden])],
        [helper.make_tensor_value_info("y", f32, [batch, seq, hidden]),
         helper.make_tensor_value_info("probs", f32, [batch, heads, seq, seq])], consts)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    mask = np.zeros((batch, 1, 1, seq), np.float32)
    mask[1, ..., seq // 2:] = -10000.0  # padding in the second sequence
    return {"q": rng.standard_normal((batch, heads, seq, head)).astype(np.float32),
            "kt": rng.standard_normal((batch, heads, head, seq)).astype(np.float32),
            "v": rng.standard_normal((batch, heads, seq, head)).astype(np.float32),
            "mask": mask, "x": rng.standard_normal((batch, seq, hidden)).astype(np.float32)}


def assert_fused_matches_unfused_and_ort(path, feeds, tmp_path, **compile_options):
    reference = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    expected = dict(zip([o.name for o in reference.get_outputs()], reference.run(None, feeds)))
    fused = ds.compile(path, str(tmp_path / "fused.dsx"), **compile_options)
    unfused = ds.compile(path, str(tmp_path / "unfused.dsx"), fuse=False, **compile_options)
    assert os.path.getsize(fused) > 0 and os.path.getsize(unfused) > 0
    for threads in (1, 2):
        got = ds.load(fused, num_threads=threads).run(feeds)
        alone = ds.load(unfused, num_threads=threads).run(feeds)
        assert set(got) == set(expected)
        for name, want in expected.items():
            assert got[name].shape == want.shape and got[name].dtype == want.dtype, name
            np.testing.assert_allclose(got[name], alone[name], rtol=1e-5, atol=1e-6,
                                       err_msg=f"fused vs op by op: {name}, {threads} threads")
            np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-5,
                                       err_msg=f"fused vs onnxruntime: {name}, {threads} threads")


def test_transformer_groups_match_op_by_op_and_onnxruntime(tmp_path):
    path = str(tmp_path / "block.onnx")
    feeds = transformer_block(path)
    assert_fused_matches_unfused_and_ort(path, feeds, tmp_path)


@pytest.mark.parametrize("batch,sequence", [(1, 7), (3, 128)])
def test_exported_encoder_with_dynamic_shapes(tmp_path, batch, sequence):
    """The PyTorch export with dynamic batch and sequence: groups of `?` dims
    are checked against the bound sizes and tiled per input shape."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "bert_dynamic.onnx")
    rng = np.random.default_rng(sequence)
    feeds = {"input_ids": rng.integers(0, 100, (batch, sequence)).astype(np.int64),
             "attention_mask": np.ones((batch, sequence), np.int64)}
    feeds["attention_mask"][-1, sequence // 2:] = 0
    assert_fused_matches_unfused_and_ort(path, feeds, tmp_path)
