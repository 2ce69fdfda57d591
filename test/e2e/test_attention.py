"""Attention exported by PyTorch, raised to one ds.attention, dense and sparse.

causal_attention.onnx (utils/export_torch_models.py) is softmax(q kᵀ/√d with a
causal mask built from Range ops) v, dynamic in the query and key lengths.
Dense: against onnxruntime on the exported graph. Sparse (attention_window /
attention_sinks, ds-sparsify-attention): against numpy with the equivalent
mask, so the reference can fail independently of ds; a window covering every
key must give the dense result.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import onnxruntime as ort
import pytest

import ds

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_python import TORCH_PYTHON, needs_torch  # noqa: E402

MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "causal_attention.onnx")


def reference(q, k, v, window=0, sinks=0):
    s, total = q.shape[2], k.shape[2]
    scores = np.einsum("bhsd,bhld->bhsl", q.astype(np.float64), k.astype(np.float64))
    scores /= np.sqrt(q.shape[-1])
    i = np.arange(s)[:, None] + (total - s)  # the diagonal counted from the last key
    j = np.arange(total)[None, :]
    visible = j <= i
    if window:
        visible &= (j > i - window) | (j < sinks)
    scores = np.where(visible, scores, -np.inf)
    scores -= scores.max(-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bhsl,bhld->bhsd", p, v.astype(np.float64))


def inputs(queries, keys, seed):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((1, 2, queries, 16)).astype(np.float32) * 2
    k = rng.standard_normal((1, 2, keys, 16)).astype(np.float32)
    v = rng.standard_normal((1, 2, keys, 16)).astype(np.float32)
    return {"q": q, "k": k, "v": v}


@pytest.mark.parametrize("queries,keys", [(1, 1), (5, 5), (300, 300), (1, 700), (70, 600)])
def test_dense_matches_onnxruntime(queries, keys):
    session = ds.load(MODEL, num_threads=2)
    feeds = inputs(queries, keys, queries * 7 + keys)
    want = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    np.testing.assert_allclose(session.run(feeds)["out"], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("window,sinks", [(1, 0), (16, 0), (16, 4), (100, 1), (257, 3)])
def test_sliding_window_with_sinks(window, sinks):
    session = ds.load(MODEL, num_threads=2, attention_window=window, attention_sinks=sinks)
    for queries, keys in [(1, 700), (300, 300), (70, 600)]:
        feeds = inputs(queries, keys, window + sinks + queries)
        got = session.run(feeds)["out"]
        np.testing.assert_allclose(got, reference(**feeds, window=window, sinks=sinks),
                                   rtol=1e-4, atol=1e-5,
                                   err_msg=f"window {window} sinks {sinks} {queries}x{keys}")
        # The policy really applies: the result is not the dense one.
        if window < keys:
            assert not np.allclose(got, reference(**feeds), rtol=1e-3, atol=1e-4)


def test_window_covering_every_key_is_dense():
    dense = ds.load(MODEL, num_threads=2)
    wide = ds.load(MODEL, num_threads=2, attention_window=4096)
    feeds = inputs(200, 500, 3)
    np.testing.assert_array_equal(wide.run(feeds)["out"], dense.run(feeds)["out"])


def test_block_selection_with_every_block_is_causal_attention():
    """NSA-style selection (attention_select_blocks) that may pick every
    earlier block is dense causal attention; with few blocks it is not."""
    every = ds.load(MODEL, num_threads=2, attention_select_blocks=1000, attention_block_size=32)
    few = ds.load(MODEL, num_threads=2, attention_select_blocks=2, attention_block_size=32)
    for queries, keys in [(1, 700), (300, 300), (70, 600)]:
        feeds = inputs(queries, keys, queries + 5)
        want = reference(**feeds)
        np.testing.assert_allclose(every.run(feeds)["out"], want, rtol=1e-4, atol=1e-5)
        assert not np.allclose(few.run(feeds)["out"], want, rtol=1e-3, atol=1e-4)


def test_sinks_without_a_window_are_refused():
    with pytest.raises(ds.CompileError, match="window must be > 0"):
        ds.load(MODEL, attention_sinks=4)


def test_dense_heads_stay_dense():
    """attention_dense_heads picks the pattern per head (DuoAttention's
    retrieval heads dense, streaming heads on a window with sinks): head 1
    of the exported model stays dense, head 0 gets the window."""
    for heads in ([1], ["0:1"]):
        session = ds.load(MODEL, num_threads=2, attention_window=16, attention_sinks=2,
                          attention_dense_heads=heads)
        for queries, keys in [(1, 700), (300, 300), (70, 600)]:
            feeds = inputs(queries, keys, queries + keys)
            got = session.run(feeds)["out"]
            np.testing.assert_allclose(got[:, :1], reference(**feeds, window=16, sinks=2)[:, :1],
                                       rtol=1e-4, atol=1e-5, err_msg=f"{heads} {queries}x{keys}")
            np.testing.assert_allclose(got[:, 1:], reference(**feeds)[:, 1:], rtol=1e-4,
                                       atol=1e-5, err_msg=f"{heads} {queries}x{keys}")
    # "1:1" names an attention the model does not have: every head is sparse.
    other = ds.load(MODEL, num_threads=2, attention_window=16, attention_sinks=2,
                    attention_dense_heads=["1:1"])
    feeds = inputs(300, 300, 1)
    np.testing.assert_allclose(other.run(feeds)["out"], reference(**feeds, window=16, sinks=2),
                               rtol=1e-4, atol=1e-5)


def grouped_query_attention(path, q_heads, kv_heads, head_dim=16, causal=True):
    """ONNX's own Attention (opset 23), causal or not, KV heads shared by
    groups of query heads, query and key lengths dynamic."""
    from onnx import TensorProto, helper, save
    graph = helper.make_graph(
        [helper.make_node("Attention", ["q", "k", "v"], ["y"], is_causal=int(causal))], "gqa",
        [helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, q_heads, "S", head_dim]),
         helper.make_tensor_value_info("k", TensorProto.FLOAT, [1, kv_heads, "L", head_dim]),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, kv_heads, "L", head_dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), path)


@pytest.mark.parametrize("pattern", [dict(attention_window=8, attention_sinks=2),
                                     dict(attention_select_blocks=1, attention_block_size=8)])
def test_dense_heads_with_grouped_kv_heads(tmp_path, pattern):
    """8 query heads on 2 KV heads, heads 1, 2 and 5 dense: the split cuts
    runs at KV-group boundaries. Each head must equal the same head of the
    all-dense or the all-sparse model, bit for bit (a head's tiles do not
    depend on the others)."""
    model = str(tmp_path / "gqa.onnx")
    grouped_query_attention(model, 8, 2)
    dense = ds.load(model, num_threads=2)
    sparse = ds.load(model, num_threads=2, **pattern)
    mixed = ds.load(model, num_threads=2, attention_dense_heads=[1, 2, 5], **pattern)
    rng = np.random.default_rng(7)
    for queries, keys in [(1, 90), (64, 64), (40, 100)]:
        feeds = {"q": rng.standard_normal((1, 8, queries, 16)).astype(np.float32) * 2,
                 "k": rng.standard_normal((1, 2, keys, 16)).astype(np.float32),
                 "v": rng.standard_normal((1, 2, keys, 16)).astype(np.float32)}
        want_dense, want_sparse = dense.run(feeds)["y"], sparse.run(feeds)["y"]
        got = mixed.run(feeds)["y"]
        for head in range(8):
            want = want_dense if head in (1, 2, 5) else want_sparse
            np.testing.assert_array_equal(got[:, head], want[:, head],
                                          err_msg=f"head {head}, {queries}x{keys}")
        # The pattern is not the dense one where queries see more than the
        # window (ONNX's causal mask is aligned to the first key), so the
        # check can tell them apart.
        if queries > 16:
            assert not np.allclose(want_sparse, want_dense, rtol=1e-3, atol=1e-4)


def test_dense_heads_are_checked():
    with pytest.raises(ds.CompileError, match="need a sparse pattern"):
        ds.load(MODEL, attention_dense_heads=[0])
    with pytest.raises(ds.CompileError, match="names head 2, but this attention has 2 query heads"):
        ds.load(MODEL, attention_window=4, attention_dense_heads=[2])
    with pytest.raises(ds.CompileError, match="neither a head"):
        ds.load(MODEL, attention_window=4, attention_dense_heads=["a:b"])
    with pytest.raises(ValueError, match="is not a head"):
        ds.load(MODEL, attention_window=4, attention_dense_heads=[1.5])


def block_layout_mask(s, total, block, local=0, stride=0, global_=0, causal=True):
    """The [S, L] keep-mask of ds-sparsify-attention's block layout, written
    from Passes.td's words: per query block its diagonal key blocks (first
    and last row's, diagonal counted from the last key), the `local` blocks
    ending there, every `stride`-th block back from the last row's, the
    first `global_` blocks (in encoders the first `global_` query blocks see
    all)."""
    offset = total - s if causal else 0
    keep = np.zeros((s, total), bool)
    for r in range((s + block - 1) // block):
        rows = slice(r * block, min(s, (r + 1) * block))
        if causal:
            first = max(0, r * block + offset) // block
            last = (min(s - 1, (r + 1) * block - 1) + offset) // block
        else:
            first = last = r
        for c in range((total + block - 1) // block):
            if causal and c > last:
                break
            distance = last - c if causal else abs(last - c)
            kept = c < global_ or (not causal and r < global_)
            if local:
                kept |= c >= first - local + 1 if causal else distance < local
            if stride:
                kept |= distance % stride == 0
            keep[rows, c * block:(c + 1) * block] = kept
    return keep


def masked_reference(q, k, v, keep, causal):
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    s, total = q.shape[2], k.shape[2]
    scores = np.einsum("bhsd,bhld->bhsl", q.astype(np.float64), k.astype(np.float64))
    scores /= np.sqrt(q.shape[-1])
    if causal:
        keep = keep & (np.arange(total)[None, :] <= np.arange(s)[:, None] + total - s)
    scores = np.where(keep, scores, -np.inf)
    best = scores.max(-1, keepdims=True)
    p = np.exp(scores - np.where(np.isfinite(best), best, 0))
    total_p = p.sum(-1, keepdims=True)
    return np.einsum("bhsl,bhld->bhsd", np.divide(p, total_p, where=total_p > 0,
                                                   out=np.zeros_like(p)), v.astype(np.float64))


@pytest.mark.parametrize("pattern", [dict(local=2), dict(local=1, stride=4),
                                     dict(local=2, stride=3, global_=1), dict(global_=2)])
@pytest.mark.parametrize("block", [16, 50])
def test_block_layout_patterns(pattern, block):
    """Sparse Transformer / Longformer / BigBird block layouts
    (ds.block_sparse_attention) on the exported causal attention, queries
    after a KV cache, against numpy with the layout expanded to keys."""
    queries, keys = 230, 300
    session = ds.load(MODEL, num_threads=2, attention_block_size=block,
                      input_shapes={"q": f"1x2x{queries}x16", "k": f"1x2x{keys}x16",
                                    "v": f"1x2x{keys}x16"},
                      **{f"attention_{name.rstrip('_')}_blocks": n for name, n in pattern.items()})
    feeds = inputs(queries, keys, block)
    keep = block_layout_mask(queries, keys, block, **pattern)
    got = session.run(feeds)["out"]
    np.testing.assert_allclose(got, masked_reference(**feeds, keep=keep, causal=True),
                               rtol=1e-4, atol=1e-5, err_msg=str(pattern))
    assert not np.allclose(got, reference(**feeds), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("pattern", [dict(local=2), dict(local=1, stride=4),
                                     dict(local=2, stride=3, global_=1), dict(global_=2)])
@pytest.mark.parametrize("block", [16, 50])
def test_block_layout_for_lengths_known_at_run_time(pattern, block):
    """The same layouts on the model as exported (query and key lengths
    dynamic): ds.block_layout builds each input shape's layout when the
    model runs; one session serves prefill, a decode step after a long
    cache and lengths shorter than a block."""
    session = ds.load(MODEL, num_threads=2, attention_block_size=block,
                      **{f"attention_{name.rstrip('_')}_blocks": n for name, n in pattern.items()})
    sparse_somewhere = False
    for queries, keys in [(230, 300), (1, 700), (300, 300), (64, 64), (5, 5), (230, 300)]:
        feeds = inputs(queries, keys, block + queries)
        keep = block_layout_mask(queries, keys, block, **pattern)
        got = session.run(feeds)["out"]
        np.testing.assert_allclose(got, masked_reference(**feeds, keep=keep, causal=True),
                                   rtol=1e-4, atol=1e-5,
                                   err_msg=f"{pattern} block {block}: {queries}x{keys}")
        sparse_somewhere |= not np.allclose(got, reference(**feeds), rtol=1e-3, atol=1e-4)
    assert sparse_somewhere


def test_block_layout_in_an_encoder_with_grouped_heads(tmp_path):
    """Encoders (not causal) take a layout too, BigBird-style: local blocks
    on both sides, a stride, global blocks both ways; 8 query heads on 2 KV
    heads; heads 3 and 6 left dense."""
    model = str(tmp_path / "encoder.onnx")
    grouped_query_attention(model, 8, 2, causal=False)
    n = 200
    session = ds.load(model, num_threads=2, attention_block_size=32, attention_local_blocks=2,
                      attention_stride_blocks=3, attention_global_blocks=1,
                      attention_dense_heads=[3, 6],
                      input_shapes={"q": f"1x8x{n}x16", "k": f"1x2x{n}x16", "v": f"1x2x{n}x16"})
    rng = np.random.default_rng(3)
    feeds = {"q": rng.standard_normal((1, 8, n, 16)).astype(np.float32) * 2,
             "k": rng.standard_normal((1, 2, n, 16)).astype(np.float32),
             "v": rng.standard_normal((1, 2, n, 16)).astype(np.float32)}
    keep = block_layout_mask(n, n, 32, local=2, stride=3, global_=1, causal=False)
    want = masked_reference(**feeds, keep=keep, causal=False)
    dense = masked_reference(**feeds, keep=np.ones((n, n), bool), causal=False)
    want[:, [3, 6]] = dense[:, [3, 6]]
    got = session.run(feeds)["y"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert not np.allclose(got, dense, rtol=1e-3, atol=1e-4)


def test_block_layout_in_a_dynamic_encoder_with_grouped_heads(tmp_path):
    """The encoder's layout (both sides, global both ways, heads 3 and 6
    dense) for sequences whose length each run decides."""
    model = str(tmp_path / "encoder.onnx")
    grouped_query_attention(model, 8, 2, causal=False)
    session = ds.load(model, num_threads=2, attention_block_size=32, attention_local_blocks=2,
                      attention_stride_blocks=3, attention_global_blocks=1,
                      attention_dense_heads=[3, 6])
    rng = np.random.default_rng(4)
    for n in [200, 70, 31, 200]:
        feeds = {"q": rng.standard_normal((1, 8, n, 16)).astype(np.float32) * 2,
                 "k": rng.standard_normal((1, 2, n, 16)).astype(np.float32),
                 "v": rng.standard_normal((1, 2, n, 16)).astype(np.float32)}
        keep = block_layout_mask(n, n, 32, local=2, stride=3, global_=1, causal=False)
        want = masked_reference(**feeds, keep=keep, causal=False)
        dense = masked_reference(**feeds, keep=np.ones((n, n), bool), causal=False)
        want[:, [3, 6]] = dense[:, [3, 6]]
        got = session.run(feeds)["y"]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"sequence {n}")
        if n == 200:  # 7 blocks: the layout hides some (70 and 31 are all kept)
            assert not np.allclose(got, dense, rtol=1e-3, atol=1e-4)


DSA = os.path.join(os.path.dirname(MODEL), "dsa_decoder.onnx")


def expand_layout(layout, s, total, block):
    """A [heads, query blocks, key blocks] layout as a [heads, S, L] keep-mask."""
    return layout[:, np.arange(s)[:, None] // block, np.arange(total)[None, :] // block]


def test_block_layout_from_a_file(tmp_path):
    """A layout of the user's own (attention_block_layout: a .npy file of
    int8 0 / 1 for every head, or an array with a row per query head) on
    the exported causal attention after a KV cache, against numpy with the
    layout expanded to keys; a row that keeps only blocks past its diagonal
    gives 0."""
    queries, keys, block = 230, 300, 32
    shapes = {"q": f"1x2x{queries}x16", "k": f"1x2x{keys}x16", "v": f"1x2x{keys}x16"}
    rng = np.random.default_rng(11)
    rows, cols = (queries + block - 1) // block, (keys + block - 1) // block
    per_head = rng.random((2, rows, cols)) < 0.4
    per_head[1, 0] = False
    per_head[1, 0, cols - 1] = True  # past every diagonal of query block 0
    shared = per_head[:1].astype(np.int8)
    np.save(tmp_path / "layout.npy", shared[0])
    feeds = inputs(queries, keys, 5)
    dense = reference(**feeds)
    for layout, given in [(shared, str(tmp_path / "layout.npy")), (per_head, per_head)]:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            session = ds.load(MODEL, num_threads=2, attention_block_size=block,
                              attention_block_layout=given, input_shapes=shapes)
        # The compiler warns of query blocks whose kept blocks all lie past
        # their last row's diagonal (the diagonal counted from the last key).
        last = np.minimum(queries, (np.arange(rows) + 1) * block) - 1 + keys - queries
        sees = layout.astype(bool) & (np.arange(cols)[None, None, :] * block <= last[:, None])
        blind = int((~sees.any(-1)).sum())
        told = [str(w.message) for w in warned if issubclass(w.category, ds.CompileWarning)]
        assert blind >= (layout is per_head)
        assert told == ([] if not blind else told[:1]) and (
            not blind or f": {blind} of {layout.shape[0] * rows} layout rows" in told[0]), told
        keep = expand_layout(layout.astype(bool), queries, keys, block)
        got = session.run(feeds)["out"]
        np.testing.assert_allclose(got, masked_reference(**feeds, keep=keep, causal=True),
                                   rtol=1e-4, atol=1e-5)
        assert not np.allclose(got, dense, rtol=1e-3, atol=1e-4)
    assert np.all(got[0, 1, :block] == 0)


def test_block_layout_from_an_array_in_an_encoder_with_grouped_heads(tmp_path):
    """A per-head layout on an encoder with 8 query heads on 2 KV heads:
    each query head reads its own row of the layout."""
    model = str(tmp_path / "encoder.onnx")
    grouped_query_attention(model, 8, 2, causal=False)
    n, block = 200, 32
    blocks = (n + block - 1) // block
    rng = np.random.default_rng(12)
    layout = rng.random((8, blocks, blocks)) < 0.5
    layout[:, np.arange(blocks), np.arange(blocks)] = True
    session = ds.load(model, num_threads=2, attention_block_size=block,
                      attention_block_layout=layout,
                      input_shapes={"q": f"1x8x{n}x16", "k": f"1x2x{n}x16", "v": f"1x2x{n}x16"})
    feeds = {"q": rng.standard_normal((1, 8, n, 16)).astype(np.float32) * 2,
             "k": rng.standard_normal((1, 2, n, 16)).astype(np.float32),
             "v": rng.standard_normal((1, 2, n, 16)).astype(np.float32)}
    want = masked_reference(**feeds, keep=expand_layout(layout, n, n, block), causal=False)
    np.testing.assert_allclose(session.run(feeds)["y"], want, rtol=1e-4, atol=1e-5)


def test_block_layout_from_a_file_is_checked(tmp_path):
    """The file must match each attention's blocks, hold 0 / 1, and the
    lengths must be static."""
    shapes = {"q": "1x2x64x16", "k": "1x2x64x16", "v": "1x2x64x16"}
    with pytest.raises(ds.CompileError, match=r"is \[1, 3, 3\] blocks of 32, but this "
                       r"attention's 64 queries and 64 keys need \[1, 2, 2\]"):
        ds.load(MODEL, attention_block_size=32, attention_block_layout=np.ones((3, 3), bool),
                input_shapes=shapes)
    with pytest.raises(ds.CompileError, match="element 1 is 2; a block layout holds 0"):
        ds.load(MODEL, attention_block_size=32, attention_block_layout=np.array([[1, 2], [1, 1]]),
                input_shapes=shapes)
    with pytest.raises(ValueError, match="holds bools or integers 0 / 1, not float32"):
        ds.load(MODEL, attention_block_layout=np.ones((2, 2), np.float32), input_shapes=shapes)
    with pytest.raises(ds.CompileError, match="needs static query and key lengths"):
        ds.load(MODEL, attention_block_size=32, attention_block_layout=np.ones((2, 2), bool))
    with pytest.raises(ds.CompileError, match="cannot open '.*missing.npy'"):
        ds.load(MODEL, attention_block_layout=str(tmp_path / "missing.npy"), input_shapes=shapes)


@needs_torch
def test_gpt_decoder_sparsified_by_policy(tmp_path):
    """A GPT decoder exported by PyTorch with its plain causal mask and a KV
    cache, compiled with a sliding window and sinks (attention_window=8,
    attention_sinks=2): a 40-token prefill and three greedy decode steps,
    each fed ds's own presents, against PyTorch running the same weights
    with the same window in its mask (test/e2e/torch_sparse_decoder.py).
    The dense compile of the same export must differ from it."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_sparse_decoder.py")
    done = subprocess.run(TORCH_PYTHON + [script, str(tmp_path), "8", "2"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    data = np.load(tmp_path / "gpt.npz")
    model = str(tmp_path / "gpt.onnx")
    sparse = ds.load(model, num_threads=2, attention_window=8, attention_sinks=2)
    dense = ds.load(model, num_threads=2)
    past = {}
    for step in range(4):
        feeds = {k.split("/")[2]: data[k] for k in data.files if k.startswith(f"{step}/feed/")}
        want = {k.split("/")[2]: data[k] for k in data.files if k.startswith(f"{step}/out/")}
        if step:  # ds's own cache from the step before (equal to PyTorch's, checked there)
            feeds.update({name.replace("present", "past_key_values"): value
                          for name, value in past.items()})
        got = sparse.run(feeds)
        assert set(got) == set(want)
        for name, value in want.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-4, atol=1e-4,
                                       err_msg=f"step {step}: {name}")
        past = {name: got[name] for name in got if name.startswith("present")}
        if step == 0:
            assert not np.allclose(dense.run(feeds)["logits"], want["logits"], rtol=1e-3,
                                   atol=1e-3)


@pytest.mark.parametrize("raise_attention", [True, False])
def test_dsa_decoder_with_its_own_topk_selection(raise_attention):
    """DeepSeek Sparse Attention as its reference code writes it (indexer,
    TopK, a scattered -inf mask plus the causal one): raised to one
    ds.sparse_attention over the 8 selected keys, or run as exported."""
    session = ds.load(DSA, num_threads=2, raise_attention=raise_attention)
    expected = ort.InferenceSession(DSA, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(11)
    for batch, sequence in [(1, 8), (2, 12), (1, 100), (3, 33)]:
        feeds = {"hidden_states": rng.standard_normal((batch, sequence, 64)).astype(np.float32)}
        want = expected.run(None, feeds)[0]
        np.testing.assert_allclose(session.run(feeds)["output"], want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"dsa {batch}x{sequence}")


NSA = os.path.join(os.path.dirname(MODEL), "nsa_decoder.onnx")


@pytest.mark.parametrize("raise_attention", [True, False])
def test_nsa_decoder_with_its_own_block_selection(raise_attention):
    """Native Sparse Attention written in plain PyTorch (compressed blocks,
    blocks selected by TopK over the compressed probabilities and widened
    to their keys, a sliding window, gates): the selection branch raised to
    one ds.sparse_attention over the 3 x 8 selected keys, or run as
    exported; both equal onnxruntime on the exported graph."""
    session = ds.load(NSA, num_threads=2, raise_attention=raise_attention)
    expected = ort.InferenceSession(NSA, providers=["CPUExecutionProvider"])
    # With the batch bound, constant folding turns the window's band into a
    # constant, raised all the same.
    static = ds.load(NSA, num_threads=2, raise_attention=raise_attention,
                     input_shapes={"hidden_states": "2x64x64"})
    rng = np.random.default_rng(12)
    for batch in [1, 2, 3]:
        feeds = {"hidden_states": rng.standard_normal((batch, 64, 64)).astype(np.float32) * 2}
        want = expected.run(None, feeds)[0]
        np.testing.assert_allclose(session.run(feeds)["output"], want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"nsa batch {batch}")
        if batch == 2:
            np.testing.assert_allclose(static.run(feeds)["output"], want, rtol=1e-4, atol=1e-5,
                                       err_msg="nsa, static shapes")


NAIVE_LOW = {"f16": np.float16}
try:
    import ml_dtypes
    NAIVE_LOW["bf16"] = ml_dtypes.bfloat16
except ImportError:  # the package depends on it; without it bf16 is not tested
    pass


@pytest.mark.parametrize("dtype", sorted(NAIVE_LOW))
@pytest.mark.parametrize("window", [0, 40])
def test_low_precision_error_at_most_twice_a_naive_kernel(tmp_path, dtype, window):
    """f16 / bf16 q, k, v: ds's fused attention (f32 accumulation and online
    softmax inside) against the fp64 result of the same rounded inputs, its
    error at most twice that of a naive kernel computing every step in the
    low type (the dense and the windowed kernel)."""
    low = NAIVE_LOW[dtype]
    S, L, D = 150, 600, 64
    attrs = "is_causal, causal_from_end" + (f", window = {window} : i64" if window else "")
    t = lambda n: f"tensor<1x4x{n}x{D}x{dtype}>"  # noqa: E731
    path = tmp_path / "attention.mlir"
    path.write_text(
        f'func.func @main(%q: {t(S)} {{ds.name = "q"}}, %k: {t(L)} {{ds.name = "k"}}, '
        f'%v: {t(L)} {{ds.name = "v"}}) -> ({t(S)} {{ds.name = "out"}}) {{\n'
        f"  %0 = ds.attention %q, %k, %v {{{attrs}}} : ({t(S)}, {t(L)}, {t(L)}) -> {t(S)}\n"
        f"  return %0 : {t(S)}\n}}\n")
    session = ds.load(ds.compile(path, tmp_path / "attention.dsx"), num_threads=2)
    rng = np.random.default_rng(5)
    feeds = {n: (rng.standard_normal((1, 4, S if n == "q" else L, D)) * (2 if n == "q" else 1))
             .astype(low) for n in "qkv"}
    exact = reference(*(feeds[n].astype(np.float64) for n in "qkv"), window=window)

    def naive():  # every product, sum and exponential rounded to the low type
        q, k, v = (feeds[n] for n in "qkv")
        scores = (np.matmul(q, np.swapaxes(k, -1, -2)) * low(1 / np.sqrt(D))).astype(low)
        i = np.arange(S)[:, None] + (L - S)
        j = np.arange(L)[None, :]
        visible = (j <= i) & ((j > i - window) if window else True)
        scores = np.where(visible, scores, low(-np.inf))
        e = np.exp((scores - scores.max(-1, keepdims=True)).astype(low)).astype(low)
        p = (e / e.sum(-1, keepdims=True, dtype=low)).astype(low)
        return np.matmul(p, v).astype(low)

    got = session.run(feeds)["out"].astype(np.float64)
    ours = np.max(np.abs(got - exact))
    theirs = np.max(np.abs(naive().astype(np.float64) - exact))
    assert ours <= 2 * theirs, f"{dtype} window {window}: ds {ours:.2e}, naive {theirs:.2e}"
