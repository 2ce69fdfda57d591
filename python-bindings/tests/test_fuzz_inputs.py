"""Randomized stress test (a seeded fuzz loop, not coverage-guided) of the
Python-level input conversion: random feeds go to Session.run and
InferenceSession.run, and every call must either return the right outputs or
raise ds.InputError / ds.InputTypeError (ValueError / TypeError, both
ds.Error); never crash, never another exception type, never a wrong answer.

Feeds mix valid values (any byte order, layout, stride, read-only flag,
rank 0, zero size, numpy scalars, lists) with one or more faults (wrong
dtype, shape or kind of value, bad keys, missing inputs). The generator knows
which feeds are valid: those must run and give the expected outputs.

CI runs it for DS_FUZZ_SECONDS (default 2); a long run:
    DS_FUZZ_SECONDS=600 DS_FUZZ_SEED=7 python3 -m pytest python-bindings/tests/test_fuzz_inputs.py
"""

import os
import time

import ml_dtypes
import numpy as np
import pytest
from onnx import helper

import ds
from model_builder import save_model

# (name, runtime dtype, numpy dtype, shape): each input comes back out through Identity.
INPUTS = [
    ("x", "f32", np.float32, (2, 3)), ("s", "f32", np.float32, ()),
    ("z", "f32", np.float32, (0, 3)), ("d", "f64", np.float64, (2,)),
    ("i", "i64", np.int64, (4,)), ("u", "ui16", np.uint16, (3,)),
    ("m", "i1", np.bool_, (2,)), ("h", "f16", np.float16, (2, 2)),
    ("b", "bf16", ml_dtypes.bfloat16, (3,)), ("e", "f8E5M2", ml_dtypes.float8_e5m2, (2, 2)),
    ("q", "i4", ml_dtypes.int4, (5,)), ("r", "ui4", ml_dtypes.uint4, ()),
]
# dtypes to offer where they are wrong
ALL_DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int8, np.uint8,
              np.uint16, np.bool_, np.complex64, ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn,
              ml_dtypes.float8_e5m2, ml_dtypes.int4, ml_dtypes.uint4, ml_dtypes.int2]
NO_BYTE_ORDER = {np.dtype(t) for t in (np.bool_, np.int8, np.uint8)} | {
    np.dtype(t) for t in ALL_DTYPES if np.dtype(t).kind == "V"}
EXPECTED_ERRORS = (ds.InputError, ds.InputTypeError)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    nodes = [helper.make_node("Identity", [n], ["out_" + n]) for n, *_ in INPUTS]
    nodes += [helper.make_node("Mul", ["x", "s"], ["xs"]),
              helper.make_node("Cast", ["q"], ["q_f32"], to=1)]
    outputs = [("out_" + n, t, list(s)) for n, t, _, s in INPUTS]
    outputs += [("xs", "f32", [2, 3]), ("q_f32", "f32", [5])]
    path = tmp_path_factory.mktemp("fuzz") / "all.onnx"
    save_model(path, nodes, [(n, t, list(s)) for n, t, _, s in INPUTS], outputs, opset=23)
    return ds.compile(path, path.with_suffix(".dsx"))


def random_values(rng, dtype, shape):
    return np.asarray(_random_values(rng, np.dtype(dtype), shape))


def _random_values(rng, dtype, shape):
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu" or dtype.name in ("int4", "uint4", "int2"):
        low = -2 if (dtype.kind == "i" or dtype.name in ("int4", "int2")) else 0
        return rng.integers(low, 2, shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j).astype(dtype)
    return (rng.integers(-8, 8, shape) / 4).astype(dtype)  # exact in every float type


def dress(rng, value):
    """The same values in another form: layout, strides, byte order, flags."""
    choice = rng.integers(0, 9)
    if choice == 0 and value.dtype not in NO_BYTE_ORDER and value.dtype.itemsize > 1:
        return value.astype(value.dtype.newbyteorder(">"))
    if choice == 1 and value.ndim:
        return np.asfortranarray(value)
    if choice == 2 and value.ndim:  # every other element of a bigger array
        big = np.repeat(value, 2, axis=-1)
        return big[..., ::2]
    if choice == 3 and value.ndim:  # negative strides
        return np.flip(np.flip(value, -1).copy(), -1)
    if choice == 4:
        value = value.copy()
        value.flags.writeable = False
        return value
    if choice == 5 and value.ndim == 0:
        return value[()]  # a numpy scalar
    # Python floats / ints convert losslessly here ([] would lose a zero-size shape)
    if choice == 6 and value.dtype.kind in "fb" and value.dtype.itemsize >= 2 and value.size:
        return value.tolist()
    if choice == 7 and value.dtype.kind in "iu" and value.dtype.itemsize >= 2 and value.size:
        return value.tolist()
    if choice == 8:
        return np.frombuffer(value.tobytes(), value.dtype).reshape(value.shape)
    return value


def fault(rng, name, dtype, shape):
    """A value for input `name` that must be refused."""
    kind = rng.integers(0, 6)
    if kind == 0:
        wrong = [t for t in ALL_DTYPES if np.dtype(t) != np.dtype(dtype)]
        return random_values(rng, wrong[rng.integers(len(wrong))], shape)
    if kind == 1:  # wrong shape: one more dim, one fewer, or another size
        if shape and rng.integers(0, 2):
            bad = shape[:-1]
        elif shape and rng.integers(0, 2):
            bad = shape[:-1] + (shape[-1] + 1 + int(rng.integers(0, 3)),)
        else:
            bad = shape + (1 + int(rng.integers(0, 3)),)
        return random_values(rng, dtype, bad)
    if kind == 2:
        return [None, "text", object(), {"a": 1}, b"\x00\x01", 1 + 2j][rng.integers(0, 6)]
    if kind == 3:
        return np.array(["a", "b"]) if rng.integers(0, 2) else np.zeros(shape, object)
    if kind == 4:  # a structured array
        return np.zeros(shape, [("a", np.float32)])
    return [[1, 2], [3]]  # ragged


def outputs_for(feed):
    want = {"out_" + n: v for n, v in feed.items()}
    want["xs"] = feed["x"] * feed["s"]
    want["q_f32"] = feed["q"].astype(np.float32)
    return want


def one_case(rng, session, ort_session):
    values = {n: random_values(rng, t, s) for n, _, t, s in INPUTS}
    feed = {n: dress(rng, v) for n, v in values.items()}
    bad = rng.random() < 0.4
    if bad:
        for _ in range(1 + rng.integers(0, 2)):
            what = rng.integers(0, 4)
            n, _, t, s = INPUTS[rng.integers(len(INPUTS))]
            if what == 0:
                feed[n] = fault(rng, n, t, s)
            elif what == 1:
                feed.pop(n, None)
            elif what == 2:
                feed[[1, None, b"x", ("x",), 2.5][rng.integers(0, 5)]] = values[n]
            else:
                feed[n + "_unknown"] = values[n]
    use_ort = rng.random() < 0.25
    try:
        if use_ort:
            names = [o.name for o in ort_session.get_outputs()]
            got = dict(zip(names, ort_session.run(None, feed)))
        else:
            got = session.run(feed)
    except EXPECTED_ERRORS as e:
        assert bad, f"a valid feed was refused: {e}"
        assert str(e)
        return
    assert not bad, f"a bad feed was taken: { {k: type(v).__name__ for k, v in feed.items()} }"
    for name, want in outputs_for(values).items():
        assert got[name].dtype == want.dtype and got[name].shape == want.shape, name
        assert got[name].tobytes() == np.ascontiguousarray(want).tobytes(), name


def test_random_feeds(model):
    seconds = float(os.environ.get("DS_FUZZ_SECONDS", "2"))
    seed = int(os.environ.get("DS_FUZZ_SEED", "15"))
    rng = np.random.default_rng(seed)
    session = ds.load(model, num_threads=1)
    ort_session = ds.InferenceSession(model)
    deadline = time.monotonic() + seconds
    cases = 0
    while time.monotonic() < deadline or cases < 200:
        state = rng.bit_generator.state
        try:
            one_case(rng, session, ort_session)
        except BaseException as e:
            raise AssertionError(f"case {cases} (seed {seed}, generator state {state}) failed: "
                                 f"{type(e).__name__}: {e}") from e
        cases += 1
    print(f"{cases} random feeds")
