"""Timing shared by the in-process benchmarks (dynamic_shapes.py, fusion.py):
engines take turns in one process, so each run must leave the cores free
for the next engine's run."""

import random
import statistics
import time

import onnxruntime as ort


def ort_session(path, threads):
    """onnxruntime on the CPU with `threads` threads whose pool does not spin
    after a run (a spinning pool would steal the cores of the next engine)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def interleaved(engines, runs, warmup=3, pause=0.002):
    """Median seconds per engine. Each round runs every engine once, in an
    order shuffled per round (seeded), so that each engine follows each other
    one about as often: a rotation of one order had every engine always run
    right after the same other one, whose threads may still be spinning
    (OpenVINO's do for a while after a run). `pause` seconds after each run
    let the engine's pool go to sleep (ds workers poll for 200 us after a
    loop), so that the next engine does not share the cores with it."""
    times = {name: [] for name in engines}
    order = list(engines)
    shuffle = random.Random(0).shuffle
    for round_ in range(warmup + runs):
        shuffle(order)
        for name in order:
            start = time.perf_counter()
            engines[name]()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
            time.sleep(pause)
    return {name: statistics.median(t) for name, t in times.items()}
