"""ds.cost_report and ds.plot_memory: what a model costs, stage by stage.

The compiler's ds-cost-report pass runs after import and after each
efficiency pass (attention, quantization, precision, rematerialization,
fusion); each stage is one dict with the totals (FLOPs, bytes moved,
roofline seconds on this CPU and on an H200), every op, and the memory of
the intermediates (peak, what is alive there, bytes alive at every step).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List, Optional, Sequence

from ._session import PathLike


def cost_report(model_path: PathLike, **compile_options: Any) -> List[Dict[str, Any]]:
    """Compiles `model_path` with ds.compile's options and returns the cost of
    the model at each stage of the pipeline, in order (dicts as the JSON of
    ds-cost-report: "stage", "total", "ops", "memory", "machines")."""
    from ._compile import compile as compile_model
    for option in ("output", "cost_report", "cost_report_format"):
        if option in compile_options:
            raise TypeError(f"cost_report sets {option} itself")
    with tempfile.TemporaryDirectory(prefix="ds-cost-") as scratch:
        report = os.path.join(scratch, "cost.jsonl")
        compile_model(model_path, os.path.join(scratch, "model.dsx"), cost_report=report,
                      cost_report_format="json", **compile_options)
        with open(report, encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]


def plot_memory(stages: Sequence[Dict[str, Any]], path: PathLike,
                title: Optional[str] = None) -> str:
    """Draws the bytes alive at every step of each stage (ds.cost_report's
    result, or a subset of it) into a PNG at `path`; returns the path.
    Needs matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4.5))
    for stage in stages:
        live = stage["memory"]["live_bytes"]
        peak = stage["memory"]["peak_bytes"]
        axes.plot(range(len(live)), [b / 2**20 for b in live],
                  label=f"{stage.get('stage') or 'model'} (peak {peak / 2**20:.2f} MiB)")
    axes.set_xlabel("step")
    axes.set_ylabel("intermediates alive (MiB)")
    axes.set_title(title or "memory over time")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=120)
    plt.close(figure)
    return os.fspath(path)
