"""Dense heads from data: ds-calibrate --attention-window measures how much
of each head's attention a window with sinks keeps (ds-insert-attention-probes)
and names the heads to leave dense; --attention-local-blocks (a block layout)
does the same for a layout.

On the PyTorch export causal_attention.onnx (inputs q, k, v; two heads), head
0 is made local (q and k are position codes whose dot product peaks on the
diagonal) and head 1 global (q = 0: every visible key weighs the same). The
shares ds reports must equal numpy's, head 1 must come out dense and head 0
not, and the model compiled with the printed flag must give the dense
result on head 1 and the windowed one on head 0.
"""

import os
import subprocess

import numpy as np
import pytest

import ds

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "models", "causal_attention.onnx")
BUILD = os.environ.get("DS_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
TOOL = os.path.join(BUILD, "bin", "ds-calibrate")
LENGTH, WINDOW, SINKS = 64, 8, 1
SHAPES = [f"--ds-input-shape={name}:1x2x{LENGTH}x16" for name in ("q", "k", "v")]


def sample(seed):
    rng = np.random.default_rng(seed)
    position = np.arange(LENGTH)[:, None]
    freqs = np.array([1.0, 0.61, 0.37, 0.23, 0.14, 0.083, 0.051, 0.031])
    code = np.concatenate([np.sin(position * freqs), np.cos(position * freqs)], axis=1)
    q = rng.standard_normal((1, 2, LENGTH, 16)) * 0.1
    k = rng.standard_normal((1, 2, LENGTH, 16)) * 0.1
    q[0, 0] += 3.0 * code  # local: q.k peaks where the positions agree
    k[0, 0] += 3.0 * code
    q[0, 1] = 0.0  # global: every visible key weighs the same
    v = rng.standard_normal((1, 2, LENGTH, 16))
    return {name: x.astype(np.float32) for name, x in (("q", q), ("k", k), ("v", v))}


def kept_share(samples, layout=None):
    """Per head: the probability mass on the window and sinks (or on the key
    blocks of `layout`, (block size, local blocks, global blocks)) over the
    whole."""
    kept, whole = np.zeros(2), np.zeros(2)
    i, j = np.arange(LENGTH)[:, None], np.arange(LENGTH)[None, :]
    inside = (j <= i) & ((j > i - WINDOW) | (j < SINKS))
    if layout:
        block, local, glob = layout
        inside = (j // block > i // block - local) | (j // block < glob)
    for feeds in samples:
        q, k = feeds["q"].astype(np.float64), feeds["k"].astype(np.float64)
        scores = np.einsum("bhsd,bhld->bhsl", q, k) / 4.0
        scores = np.where(j <= i, scores, -np.inf)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        kept += np.where(inside, p, 0.0).sum(axis=(0, 2, 3))
        whole += p.sum(axis=(0, 2, 3))
    return kept / whole


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    samples = [sample(seed) for seed in range(3)]
    for n, feeds in enumerate(samples):
        folder = data / f"sample{n}"
        folder.mkdir()
        for name, x in feeds.items():
            np.save(folder / f"{name}.npy", x)
    table = data / "heads.txt"
    run = subprocess.run([TOOL, MODEL, str(data), "-o", str(table),
                          f"--attention-window={WINDOW}", f"--attention-sinks={SINKS}",
                          "--"] + SHAPES, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = [line.split() for line in table.read_text().splitlines() if not line.startswith("#")]
    return samples, rows, run.stdout


def test_shares_match_numpy(calibrated):
    samples, rows, _ = calibrated
    want = kept_share(samples)
    assert [(r[0], r[1]) for r in rows] == [("0", "0"), ("0", "1")]
    got = np.array([float(r[2]) for r in rows])
    np.testing.assert_allclose(got, want, rtol=1e-4)
    # The heads really differ: a local one the window keeps, a global one it does not.
    assert want[0] > 0.95 and want[1] < 0.5


def test_global_head_is_named_dense(calibrated):
    _, rows, stdout = calibrated
    assert rows[0][3:] == [] and rows[1][3:] == ["dense"]
    assert stdout.splitlines()[-1] == (f"--attention-window={WINDOW} --attention-sinks={SINKS} "
                                       "--attention-dense-heads=0:1")


def test_model_compiled_with_the_choice(calibrated):
    """The flag printed is the one ds-compile takes: head 1 dense, head 0 windowed."""
    samples, _, _ = calibrated
    feeds = samples[0]
    dense = ds.load(MODEL, num_threads=2).run(feeds)["out"]
    windowed = ds.load(MODEL, num_threads=2, attention_window=WINDOW,
                       attention_sinks=SINKS).run(feeds)["out"]
    mixed = ds.load(MODEL, num_threads=2, attention_window=WINDOW, attention_sinks=SINKS,
                    attention_dense_heads=["0:1"]).run(feeds)["out"]
    np.testing.assert_array_equal(mixed[:, 1], dense[:, 1])
    np.testing.assert_array_equal(mixed[:, 0], windowed[:, 0])
    assert not np.allclose(windowed[:, 1], dense[:, 1], atol=1e-3)


def test_python_api_gives_the_same(calibrated):
    """ds.calibrate_attention_heads: the same shares and choice from an
    iterable of feeds."""
    samples, rows, _ = calibrated
    result = ds.calibrate_attention_heads(
        MODEL, samples, window=WINDOW, sinks=SINKS, num_threads=2,
        input_shapes={name: [1, 2, LENGTH, 16] for name in ("q", "k", "v")})
    assert result["dense_heads"] == ["0:1"]
    got = [result["kept"][(0, 0)], result["kept"][(0, 1)]]
    np.testing.assert_allclose(got, [float(r[2]) for r in rows], rtol=1e-5)
    with pytest.raises(ValueError, match="may not set"):
        ds.calibrate_attention_heads(MODEL, samples, window=4,
                                     compile_options={"attention_dense_heads": ["0"]})
    with pytest.raises(ValueError, match="no attention to measure"):
        ds.calibrate_attention_heads(MODEL, samples, window=4)  # dynamic shapes


def test_block_layout(calibrated, tmp_path):
    """A block layout (the diagonal 8-key block and block 0) as the pattern:
    the shares equal numpy's, the global head is named, and the printed
    flags compile a model that is dense on it and laid out on the other."""
    samples, _, _ = calibrated
    data = tmp_path / "data"
    for n, feeds in enumerate(samples):
        (data / f"sample{n}").mkdir(parents=True)
        for name, x in feeds.items():
            np.save(data / f"sample{n}" / f"{name}.npy", x)
    table = tmp_path / "heads.txt"
    run = subprocess.run([TOOL, MODEL, str(data), "-o", str(table), "--attention-block-size=8",
                          "--attention-local-blocks=1", "--attention-global-blocks=1", "--"]
                         + SHAPES, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = [line.split() for line in table.read_text().splitlines() if not line.startswith("#")]
    want = kept_share(samples, layout=(8, 1, 1))
    np.testing.assert_allclose([float(r[2]) for r in rows], want, rtol=1e-4)
    # The local head keeps 0.98 here, the global one 0.51.
    assert want[0] > 0.95 and want[1] < 0.6
    assert rows[0][3:] == [] and rows[1][3:] == ["dense"]
    flags = run.stdout.splitlines()[-1]
    assert flags.startswith("--attention-block-size=8 --attention-local-blocks=1 "
                            "--attention-stride-blocks=0 --attention-global-blocks=1 "
                            "--attention-dense-heads="), flags
    assert "0:1" in flags.split("--attention-dense-heads=")[1].split(","), flags
    feeds = samples[0]
    layout = dict(attention_block_size=8, attention_local_blocks=1, attention_global_blocks=1)
    dense = ds.load(MODEL, num_threads=2).run(feeds)["out"]
    laid_out = ds.load(MODEL, num_threads=2, **layout).run(feeds)["out"]
    mixed = ds.load(MODEL, num_threads=2, attention_dense_heads=["0:1"], **layout).run(feeds)["out"]
    np.testing.assert_array_equal(mixed[:, 1], dense[:, 1])
    np.testing.assert_array_equal(mixed[:, 0], laid_out[:, 0])
    assert not np.allclose(laid_out[:, 1], dense[:, 1], atol=1e-3)
    result = ds.calibrate_attention_heads(
        MODEL, samples, block_size=8, local_blocks=1, global_blocks=1, num_threads=2,
        input_shapes={name: [1, 2, LENGTH, 16] for name in ("q", "k", "v")})
    np.testing.assert_allclose([result["kept"][(0, 0)], result["kept"][(0, 1)]],
                               [float(r[2]) for r in rows], rtol=1e-5)
    with pytest.raises(ValueError, match="one pattern"):
        ds.calibrate_attention_heads(MODEL, samples, window=4, local_blocks=1)


def test_keep_threshold_and_flags_are_checked(tmp_path):
    for args, message in [(["--attention-keep=1.5", "--attention-window=4"], "attention-keep"),
                          (["--attention-sinks=2"], "measures one pattern"),
                          (["--attention-window=4", "--attention-local-blocks=1"],
                           "measures one pattern"),
                          (["--attention-local-blocks=1", "--attention-sinks=1"],
                           "takes no --attention-sinks"),
                          (["--attention-window=4", "--precision=fp16"], "other calibrations"),
                          (["--attention-window=4", "--model-is-artifact"], "not an artifact")]:
        model = MODEL
        if "--model-is-artifact" in args:  # probes compiled for some other window
            args, model = args[:1], str(tmp_path / "probes.dsx")
        run = subprocess.run([TOOL, model, str(tmp_path), "-o", str(tmp_path / "t.txt")] + args,
                             capture_output=True, text=True)
        assert run.returncode != 0 and message in run.stderr, run.stderr


def test_nothing_to_measure_is_an_error(tmp_path):
    """Dynamic shapes (no --ds-input-shape): the probe cannot be built; a
    clear message, no table."""
    np.save(tmp_path / "q.npy", sample(0)["q"])
    data = tmp_path / "data"
    (data / "s0").mkdir(parents=True)
    for name, x in sample(0).items():
        np.save(data / "s0" / f"{name}.npy", x)
    run = subprocess.run([TOOL, MODEL, str(data), "-o", str(tmp_path / "t.txt"),
                          "--attention-window=4"], capture_output=True, text=True)
    assert run.returncode != 0 and "no attention to measure" in run.stderr, run.stderr
    assert not (tmp_path / "t.txt").exists()
