"""Rematerialization (ds-rematerialize through ds.compile's remat_budget) and
the cost report (ds.cost_report, ds.plot_memory).

Recomputed values come from the same kernels on the same inputs, so every
output is bit-identical to the program without the pass; the planned peak
(the cost report's, from the memory analysis the artifact writer uses) fits
the budget; a budget no strategy reaches is refused with the smallest peak
found, and that budget then compiles."""

import os
import re

import numpy as np
import pytest

import ds
from chains import activation_chain
from feeds import feeds_for, signature


def chain_model(path, n=12, size=64):
    return activation_chain(path, n, size)


def stage(report, name):
    return next(s for s in report if s["stage"] == name)


def run(path, feeds, **options):
    artifact = ds.compile(path, **options)  # .mlir as well as .onnx
    try:
        return ds.Session(artifact).run(feeds)
    finally:
        os.remove(artifact)


def assert_bit_identical(got, expected):
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name].dtype == expected[name].dtype
        assert got[name].tobytes() == expected[name].tobytes(), name


@pytest.mark.parametrize("strategy", ["greedy", "sqrt", "optimal"])
@pytest.mark.parametrize("fuse", [False, True])
def test_chain_fits_budget_and_is_bit_identical(tmp_path, strategy, fuse):
    model = chain_model(tmp_path / "chain.mlir")
    feeds = {"input0": np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)}
    store_all = stage(ds.cost_report(model, fuse=False), "imported")["memory"]["peak_bytes"]
    # 12 activations + the running gradient and its two operands.
    assert store_all >= 13 * 64 * 64 * 4
    budget = store_all // 2 if strategy != "sqrt" else None
    report = ds.cost_report(model, fuse=False, remat_budget=budget, remat_strategy=strategy)
    after = stage(report, "rematerialization")
    assert after["memory"]["peak_bytes"] < store_all
    if budget is not None:
        assert after["memory"]["peak_bytes"] <= budget
    # Recomputation costs FLOPs: more ops and more arithmetic than before.
    assert after["total"]["flops"] > stage(report, "imported")["total"]["flops"]
    expected = run(model, feeds, fuse=fuse)
    got = run(model, feeds, fuse=fuse, remat_budget=budget, remat_strategy=strategy)
    assert_bit_identical(got, expected)


def test_optimal_is_never_worse_than_sqrt(tmp_path):
    model = chain_model(tmp_path / "chain.mlir", n=9, size=32)
    peaks = {}
    for strategy in ("sqrt", "optimal"):
        report = ds.cost_report(model, fuse=False, remat_strategy=strategy)
        peaks[strategy] = stage(report, "rematerialization")["memory"]["peak_bytes"]
    assert peaks["optimal"] <= peaks["sqrt"]


def test_infeasible_budget_names_the_smallest_peak(tmp_path):
    model = chain_model(tmp_path / "chain.mlir")
    with pytest.raises(ds.CompileError) as error:
        ds.compile(model, str(tmp_path / "a.dsx"), remat_budget="1KB")
    message = str(error.value)
    assert "cannot be met" in message and "no schedule goes below" in message
    smallest = int(re.search(r"give a budget of at least (\d+) bytes", message).group(1))
    assert not os.path.exists(tmp_path / "a.dsx")
    report = ds.cost_report(model, fuse=False, remat_budget=smallest)
    assert stage(report, "rematerialization")["memory"]["peak_bytes"] <= smallest


@pytest.mark.parametrize("name", ["cnn", "bert", "gpt", "llama"])
def test_generated_models_bit_identical_under_a_budget(models_dir, name):
    path = str(models_dir / f"{name}.onnx")
    report = ds.cost_report(path, fuse=False)
    peak = stage(report, "imported")["memory"]["peak_bytes"]
    budget = int(peak * 0.9)
    try:
        report = ds.cost_report(path, fuse=False, remat_budget=budget)
    except ds.CompileError as error:  # then the pass says what it reaches
        budget = int(re.search(r"at least (\d+) bytes", str(error)).group(1))
        report = ds.cost_report(path, fuse=False, remat_budget=budget)
    assert stage(report, "rematerialization")["memory"]["peak_bytes"] <= budget
    feeds = feeds_for(signature(path), seed=1)
    assert_bit_identical(ds.load(path, remat_budget=budget).run(feeds), ds.load(path).run(feeds))


def test_cost_report_stages_and_totals(models_dir):
    report = ds.cost_report(str(models_dir / "bert.onnx"), precision="bf16")
    assert [s["stage"] for s in report] == ["imported", "attention", "precision", "fusion"]
    imported, attention = stage(report, "imported"), stage(report, "attention")
    for s in report:
        assert s["total"]["flops"] > 0 and s["total"]["cpu_seconds"] > 0
        assert s["total"]["gpu_seconds"] < s["total"]["cpu_seconds"]
        assert len(s["memory"]["live_bytes"]) >= 2
    # Fused attention never materializes the scores: fewer bytes moved.
    moved = lambda s: s["total"]["bytes_read"] + s["total"]["bytes_written"]
    assert moved(attention) < moved(imported)
    # bf16 contractions run on the 16-bit units.
    kinds = {op.get("arithmetic") for op in stage(report, "precision")["ops"]
             if op["op"] == "ds.matmul"}
    assert kinds == {"f16"}
    # Fusion moves fewer bytes again.
    assert moved(stage(report, "fusion")) < moved(stage(report, "precision"))


def test_plot_memory_writes_a_png(models_dir, tmp_path):
    pytest.importorskip("matplotlib")
    report = ds.cost_report(str(models_dir / "gpt.onnx"))
    out = ds.plot_memory(report, tmp_path / "memory.png", title="gpt")
    with open(out, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
