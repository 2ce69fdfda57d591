"""Models with dynamic dims, compiled once and run at many shapes, against onnxruntime.

The encoder and the decoder come from torch.onnx.export with dynamic axes
(utils/export_torch_models.py, checked in under models/), so they carry the
Shape/Gather/Unsqueeze/Concat arithmetic real exports have. fp32 bounds as
in test_models.py: rtol 1e-4, atol 1e-5.
"""

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import ds

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
BERT = os.path.join(MODELS, "bert_dynamic.onnx")
GPT = os.path.join(MODELS, "gpt_kv.onnx")
LLAMA = os.path.join(MODELS, "llama_gqa.onnx")


def reference(path):
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def assert_matches(got, expected_session, feeds, what):
    expected = expected_session.run(None, feeds)
    for output, want in zip(expected_session.get_outputs(), expected):
        actual = got[output.name]
        assert actual.shape == want.shape, f"{what}: {output.name}"
        np.testing.assert_allclose(actual, want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{what}: {output.name}")
    return expected


def encoder_feeds(rng, batch, sequence):
    ids = rng.integers(0, 100, (batch, sequence)).astype(np.int64)
    mask = np.ones((batch, sequence), np.int64)
    for row in range(batch):  # padding at the end of every row but the first
        mask[row, sequence - row * sequence // (batch + 1):] = 0 if row else 1
    return {"input_ids": ids, "attention_mask": mask}


@pytest.fixture(scope="module")
def encoder():
    return ds.load(BERT, num_threads=2)


@pytest.mark.parametrize("batch,sequence", [(1, 1), (1, 7), (3, 128), (8, 512), (1, 7)])
def test_encoder_compiled_once_runs_every_shape(encoder, batch, sequence):
    rng = np.random.default_rng(batch * 1000 + sequence)
    feeds = encoder_feeds(rng, batch, sequence)
    assert_matches(encoder.run(feeds), reference(BERT), feeds, f"bert {batch}x{sequence}")


def test_encoder_signature_is_symbolic(encoder):
    shapes = {i["name"]: list(i["shape"]) for i in encoder.inputs}
    assert shapes == {"input_ids": [-1, -1], "attention_mask": [-1, -1]}


def test_one_symbol_binds_one_size(encoder):
    feeds = {"input_ids": np.zeros((2, 5), np.int64),
             "attention_mask": np.ones((2, 6), np.int64)}
    with pytest.raises(ds.Error, match="'sequence'.*binds to 5"):
        encoder.run(feeds)


def test_bounds_from_input_shapes():
    session = ds.load(BERT, input_shapes={"input_ids": "1..4x1..64",
                                          "attention_mask": "1..4x1..64"})
    rng = np.random.default_rng(7)
    feeds = encoder_feeds(rng, 4, 64)
    assert_matches(session.run(feeds), reference(BERT), feeds, "bert 4x64 within bounds")
    with pytest.raises(ds.Error, match=r"outside the bounds of 'sequence' \(1\.\.64\)"):
        session.run(encoder_feeds(rng, 1, 65))
    with pytest.raises(ds.Error, match=r"outside the bounds of 'batch' \(1\.\.4\)"):
        session.run(encoder_feeds(rng, 5, 3))


def decoder_feeds(tokens, past):
    feeds = {"input_ids": tokens}
    for i in range(2):
        for kind in ("key", "value"):
            feeds[f"past_key_values.{i}.{kind}"] = past[(i, kind)]
    return feeds


def test_decoder_prefill_then_decode_with_kv_cache():
    """Prefill (past length 0) then greedy decoding, each step feeding the
    previous step's present tensors back, in one session; every step's
    logits and presents are checked against onnxruntime on the same feeds."""
    session = ds.load(GPT, num_threads=2)
    expected_session = reference(GPT)
    rng = np.random.default_rng(3)
    batch, heads, head_dim = 2, 4, 16
    tokens = rng.integers(0, 100, (batch, 5)).astype(np.int64)
    past = {(i, k): np.zeros((batch, heads, 0, head_dim), np.float32)
            for i in range(2) for k in ("key", "value")}
    for step in range(12):
        feeds = decoder_feeds(tokens, past)
        got = session.run(feeds)
        assert_matches(got, expected_session, feeds, f"decode step {step}")
        total = sum(f.shape[1] for f in [tokens]) + past[(0, "key")].shape[2]
        assert got["present.0.key"].shape == (batch, heads, total, head_dim)
        past = {(i, k): got[f"present.{i}.{k}"] for i in range(2) for k in ("key", "value")}
        tokens = got["logits"][:, -1:, :].argmax(-1).astype(np.int64)


def save(tmp_path, graph, name, opset=17):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model, full_check=True)
    path = str(tmp_path / name)
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("raise_attention", [True, False])
def test_grouped_query_decoder_every_length(raise_attention):
    """LLaMA-style GQA with the masked_fill causal mask Hugging Face builds:
    raised to one causal ds.attention sharing 2 KV heads (or kept as the
    exported ops), compiled once, run at several lengths."""
    model = ds.load(LLAMA, num_threads=2, raise_attention=raise_attention)
    expected = reference(LLAMA)
    rng = np.random.default_rng(7)
    for batch, sequence in [(1, 1), (2, 7), (1, 64), (3, 33)]:
        feeds = {"hidden_states": rng.standard_normal((batch, sequence, 64)).astype(np.float32)}
        assert_matches(model.run(feeds), expected, feeds, f"llama_gqa {batch}x{sequence}")


def test_shape_decided_by_an_input_value(tmp_path):
    """Reshape to a shape read from an input: planned per run, step by step."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]),
         helper.make_node("Relu", ["r"], ["y"])], "reshape_by_value",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"]),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])])
    path = save(tmp_path, graph, "reshape_by_value.onnx")
    session = ds.load(path)
    x = np.arange(-6, 6, dtype=np.float32)
    for shape in ([3, 4], [2, -1], [12, 1], [3, 4]):
        feeds = {"x": x, "shape": np.array(shape, np.int64)}
        assert_matches(session.run(feeds), reference(path), feeds, f"reshape to {shape}")
    with pytest.raises(ds.Error, match="reshape"):
        session.run({"x": x, "shape": np.array([5, 5], np.int64)})


def test_topk_with_k_from_an_input(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=-1)], "topk_by_value",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", "cols"]),
         helper.make_tensor_value_info("k", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["rows", "k"]),
         helper.make_tensor_value_info("indices", TensorProto.INT64, ["rows", "k"])])
    path = save(tmp_path, graph, "topk_by_value.onnx")
    session = ds.load(path)
    rng = np.random.default_rng(5)
    for rows, cols, k in ((2, 9, 3), (4, 5, 5), (1, 9, 1)):
        feeds = {"x": rng.permutation(rows * cols).reshape(rows, cols).astype(np.float32),
                 "k": np.array([k], np.int64)}
        assert_matches(session.run(feeds), reference(path), feeds, f"topk {rows}x{cols} k={k}")


def test_unsqueeze_of_several_dynamic_dims_at_size_zero(tmp_path):
    """Unsqueeze / Squeeze of a tensor with two dynamic dims build their target
    shape at run time; a dim of size 0 must stay 0, not mean "copy"."""
    graph = helper.make_graph(
        [helper.make_node("Unsqueeze", ["x", "axes"], ["u"]),
         helper.make_node("Squeeze", ["u", "axes"], ["s"]),
         helper.make_node("Neg", ["s"], ["y"])], "unsqueeze_dynamic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s"])],
        [helper.make_tensor_value_info("u", TensorProto.FLOAT, [1, "b", "s"]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s"])],
        [helper.make_tensor("axes", TensorProto.INT64, [1], [0])])
    path = save(tmp_path, graph, "unsqueeze_dynamic.onnx")
    session = ds.load(path)
    for shape in ((0, 3), (2, 0), (2, 3), (0, 0)):
        feeds = {"x": np.arange(np.prod(shape), dtype=np.float32).reshape(shape)}
        assert_matches(session.run(feeds), reference(path), feeds, f"unsqueeze {shape}")


def test_shapeless_clip_bounds_take_one_element_at_any_rank(tmp_path):
    """Clip whose min / max are declared without a shape (older ONNX data passes
    min as [1]): imported as scalars, fed as [1] or scalars, each matching
    onnxruntime (which takes those two forms); two elements are refused."""
    graph = helper.make_graph(
        [helper.make_node("Clip", ["x", "min", "max"], ["y"])], "clip_shapeless",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4]),
         helper.make_tensor_value_info("min", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("max", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])])
    # Not through save(): the current checker wants a shape on every input.
    path = str(tmp_path / "clip_shapeless.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    session = ds.load(path)
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    for lo, hi in ((np.array([-0.5], np.float32), np.array(0.75, np.float32)),
                   (np.array(-1.5, np.float32), np.array([1.0], np.float32))):
        feeds = {"x": x, "min": lo, "max": hi}
        assert_matches(session.run(feeds), reference(path), feeds, f"clip to {lo}, {hi}")
    with pytest.raises(ds.Error, match="without a shape"):
        session.run({"x": x, "min": np.array([-1, 0], np.float32), "max": np.array(1, np.float32)})


def test_reduce_axes_from_an_input(tmp_path):
    """Every Reduce* op whose axes are a graph input: one compile per keepdims,
    run for several axis sets (negative, all, one) on float and integer data,
    matching onnxruntime; an axis out of range is an error."""
    rng = np.random.default_rng(5)
    floats = rng.uniform(0.25, 2.0, (2, 3, 4)).astype(np.float32)
    ints = rng.integers(-4, 5, (2, 3, 4)).astype(np.int64)
    ops = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
           "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp"]
    for op in ops:
        for keepdims in (0, 1):
            for elem, x in ((TensorProto.FLOAT, floats), (TensorProto.INT64, ints)):
                if elem == TensorProto.INT64 and op in ("ReduceL2", "ReduceLogSum",
                                                        "ReduceLogSumExp"):
                    continue  # onnxruntime has no integer kernel for these
                graph = helper.make_graph(
                    [helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)], "by_value",
                    [helper.make_tensor_value_info("x", elem, [2, 3, 4]),
                     helper.make_tensor_value_info("axes", TensorProto.INT64, [2])],
                    [helper.make_tensor_value_info("y", elem, [None] * (3 if keepdims else 1))])
                path = save(tmp_path, graph, f"{op}_{keepdims}_{elem}.onnx", opset=18)
                session = ds.load(path)
                for axes in ([0, 2], [-1, 1], [2, 0]):
                    feeds = {"x": x, "axes": np.array(axes, np.int64)}
                    assert_matches(session.run(feeds), reference(path), feeds,
                                   f"{op} keepdims={keepdims} {x.dtype} axes {axes}")
                with pytest.raises(ds.Error, match="axis 3 is out of range"):
                    session.run({"x": x, "axes": np.array([0, 3], np.int64)})


def vector_input(name, length):
    return helper.make_tensor_value_info(name, TensorProto.INT64, [length])


def test_squeeze_unsqueeze_split_by_run_time_values(tmp_path):
    """Squeeze / Unsqueeze axes and Split sizes given as graph inputs: one
    compile, several values (negative and unsorted too), onnxruntime's
    results; a repeated axis, a squeezed dim that is not 1 and sizes that do
    not add up are errors that say so."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 1, 3, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Unsqueeze", ["x", "uaxes"], ["u"]),
         helper.make_node("Squeeze", ["x", "saxes"], ["s"]),
         helper.make_node("Split", ["x", "sizes"], ["p0", "p1"], axis=2)],
        "by_value", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 1, "n", 1]),
                     vector_input("uaxes", 2), vector_input("saxes", 1), vector_input("sizes", 2)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None] * rank)
         for name, rank in (("u", 6), ("s", 3), ("p0", 4), ("p1", 4))])
    path = save(tmp_path, graph, "shape_values.onnx", opset=18)
    session = ds.load(path)
    for uaxes, saxes, sizes in (([0, 5], [1], [1, 2]), ([-1, 2], [-1], [3, 0]),
                                ([4, 0], [3], [0, 3])):
        feeds = {"x": x, "uaxes": np.array(uaxes, np.int64), "saxes": np.array(saxes, np.int64),
                 "sizes": np.array(sizes, np.int64)}
        assert_matches(session.run(feeds), reference(path), feeds, f"{uaxes} {saxes} {sizes}")
    # Zero-size tensors keep their 0 dims (the computed shapes are exact).
    empty = np.zeros((2, 1, 0, 1), np.float32)
    feeds = {"x": empty, "uaxes": np.array([0, -1], np.int64), "saxes": np.array([3], np.int64),
             "sizes": np.array([0, 0], np.int64)}
    assert_matches(session.run(feeds), reference(path), feeds, "zero-size input")
    good = {"x": x, "uaxes": np.array([0, 1], np.int64), "saxes": np.array([1], np.int64),
            "sizes": np.array([1, 2], np.int64)}
    for name, value, message in (("uaxes", [1, -5], "Unsqueeze: axes must be distinct"),
                                 ("uaxes", [0, 6], "Unsqueeze: axes must be distinct"),
                                 ("saxes", [2], "Squeeze: a squeezed dim is not 1"),
                                 ("saxes", [4], "Squeeze: axes must be distinct"),
                                 ("sizes", [1, 1], "Split: split sizes must add up"),
                                 ("sizes", [4, -1], "Split: split sizes must not be negative")):
        with pytest.raises(ds.Error, match=message):
            session.run(dict(good, **{name: np.array(value, np.int64)}))


def test_pad_onehot_resize_crop_by_run_time_values(tmp_path):
    """Pad with run-time pads and axes, OneHot with a run-time depth, Resize
    with run-time sizes for some axes (also keeping the aspect ratio) and
    CenterCropPad to a run-time shape: one compile, several values, matching
    onnxruntime."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Pad", ["x", "pads", "", "paxes"], ["padded"]),
         helper.make_node("OneHot", ["idx", "depth", "values"], ["hot"], axis=1),
         helper.make_node("Resize", ["x", "", "", "sizes"], ["resized"], axes=[3, 2],
                          mode="nearest"),
         helper.make_node("Resize", ["x", "", "", "sizes"], ["kept"], axes=[2, 3],
                          keep_aspect_ratio_policy="not_larger", mode="linear"),
         helper.make_node("Resize", ["x", "", "", "fixed"], ["fixed_kept"], axes=[2, 3],
                          keep_aspect_ratio_policy="not_smaller", mode="cubic"),
         helper.make_node("CenterCropPad", ["x", "crop"], ["cropped"], axes=[2, 3])],
        "by_value", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 5]),
                     vector_input("pads", 4), vector_input("paxes", 2),
                     helper.make_tensor_value_info("idx", TensorProto.INT64, [3]),
                     helper.make_tensor_value_info("depth", TensorProto.INT64, []),
                     helper.make_tensor_value_info("values", TensorProto.FLOAT, [2]),
                     vector_input("sizes", 2), vector_input("crop", 2)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None] * rank)
         for name, rank in (("padded", 4), ("hot", 2), ("resized", 4), ("kept", 4),
                            ("fixed_kept", 4), ("cropped", 4))],
        # keep_aspect_ratio_policy with constant sizes: the same one scale.
        [helper.make_tensor("fixed", TensorProto.INT64, [2], [7, 7])])
    path = save(tmp_path, graph, "values.onnx", opset=18)
    session = ds.load(path)
    for pads, paxes, depth, sizes, crop in (([1, 0, 2, 1], [2, -1], 4, [7, 3], [3, 6]),
                                            ([0, 2, 0, 0], [1, 3], 6, [2, 10], [5, 2])):
        feeds = {"x": x, "pads": np.array(pads, np.int64), "paxes": np.array(paxes, np.int64),
                 "idx": np.array([0, -1, 2], np.int64), "depth": np.array(depth, np.int64),
                 "values": np.array([-1, 3], np.float32), "sizes": np.array(sizes, np.int64),
                 "crop": np.array(crop, np.int64)}
        assert_matches(session.run(feeds), reference(path), feeds, f"{pads} {paxes} {depth}")
    with pytest.raises(ds.Error, match="OneHot: depth must be positive"):
        session.run(dict(feeds, depth=np.array(0, np.int64)))


def test_cumsum_axis_from_an_input(tmp_path):
    """CumSum / CumProd whose axis is a graph input: one compile, every axis
    (negative too) at run time, matching onnxruntime; an axis out of range is
    an error."""
    for op in ("CumSum", "CumProd"):
        graph = helper.make_graph(
            [helper.make_node(op, ["x", "axis"], ["y"], exclusive=1)], "cumulative_by_value",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
             helper.make_tensor_value_info("axis", TensorProto.INT64, [])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
        path = save(tmp_path, graph, op + ".onnx", opset=26 if op == "CumProd" else 17)
        session = ds.load(path)
        x = np.random.default_rng(3).uniform(0.5, 1.5, (2, 3, 4)).astype(np.float32)
        for axis in (0, 1, 2, -1):
            feeds = {"x": x, "axis": np.array(axis, np.int64)}
            assert_matches(session.run(feeds), reference(path), feeds, f"{op} axis {axis}")
        with pytest.raises(ds.Error, match="axis"):
            session.run({"x": x, "axis": np.array(3, np.int64)})
