"""Feeding inputs (issue 15, items 12 and 13): any numpy array of the input's
dtype is taken (read-only, memory-mapped, strided, big-endian, rank 0), and a
bad feed gets a TypeError / ValueError (both ds.Error) naming the input and
what it expects, never a bare std::bad_cast."""

import numpy as np
import pytest
from onnx import helper, numpy_helper

import ds
from model_builder import save_model

A = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.array([10, 20, 30], np.float32)


@pytest.fixture(scope="module")
def add(tmp_path_factory):
    path = tmp_path_factory.mktemp("inputs") / "add.onnx"
    save_model(path, [helper.make_node("Add", ["a", "b"], ["sum"])],
               [("a", "f32", [2, 3]), ("b", "f32", [3])], [("sum", "f32", [2, 3])])
    return ds.load(path, num_threads=1)


def _read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


def _memmap(tmp_path, array):
    path = tmp_path / "a.bin"
    array.tofile(path)
    return np.memmap(path, dtype=array.dtype, mode="r", shape=array.shape)


@pytest.mark.parametrize("make", [
    pytest.param(lambda tmp: _read_only(A), id="read-only"),
    pytest.param(lambda tmp: np.frombuffer(A.tobytes(), np.float32).reshape(2, 3), id="frombuffer"),
    pytest.param(lambda tmp: _memmap(tmp, A), id="memmap"),
    pytest.param(lambda tmp: numpy_helper.to_array(numpy_helper.from_array(A)), id="to_array"),
    pytest.param(lambda tmp: A.astype(">f4"), id="big-endian"),
    pytest.param(lambda tmp: np.asfortranarray(A), id="fortran"),
    pytest.param(lambda tmp: np.repeat(A, 2, axis=1)[:, ::2], id="strided"),
    pytest.param(lambda tmp: A[::-1][::-1], id="negative-strides"),
    pytest.param(lambda tmp: A.tolist(), id="list"),
    pytest.param(lambda tmp: memoryview(A), id="memoryview"),
])
def test_any_array_of_the_dtype_is_taken(add, tmp_path, make):
    a = make(tmp_path)
    np.testing.assert_array_equal(add.run({"a": a, "b": B})["sum"], A + B)


def test_big_endian_and_broadcast_views(add):
    b = np.lib.stride_tricks.as_strided(np.array([10], ">f4"), (3,), (0,),
                                        writeable=False)  # read-only, stride 0
    assert b.dtype.byteorder == ">" and b.flags.writeable is False
    np.testing.assert_array_equal(add.run({"a": A, "b": b})["sum"], A + 10)


def test_scalars_rank_0(tmp_path):
    # item 13: a rank-0 input and a rank-0 output
    path = save_model(tmp_path / "scale.onnx", [helper.make_node("Mul", ["x", "s"], ["y"]),
                                                helper.make_node("Add", ["s", "s"], ["t"])],
                      [("x", "f32", [3]), ("s", "f32", [])],
                      [("y", "f32", [3]), ("t", "f32", [])])
    session = ds.load(path, num_threads=1)
    assert session.inputs[1]["shape"] == []
    x = np.array([1, 2, 3], np.float32)
    for s in (np.array(2, np.float32), np.float32(2), 2.0, 2, np.array(2, ">f4")):
        out = session.run({"x": x, "s": s})
        np.testing.assert_array_equal(out["y"], x * 2)
        assert out["t"].shape == () and out["t"].dtype == np.float32 and out["t"] == 4
    with pytest.raises(ValueError, match=r"input 's' has shape \(1,\), expected \(\)"):
        session.run({"x": x, "s": np.array([2], np.float32)})


@pytest.mark.parametrize("feeds, kind, message", [
    ({"a": A, "b": B, 3: B}, TypeError, "input names must be strings, got int 3"),
    ({"a": A, b"b": B}, TypeError, "input names must be strings, got bytes b'b'"),
    ({"a": A, "b": B.astype(np.float64)}, TypeError,
     "input 'b' must have dtype f32 (numpy float32), got float64"),
    ({"a": A, "b": B.astype(">f8")}, TypeError,
     "input 'b' must have dtype f32 (numpy float32), got >f8"),
    ({"a": A, "b": B.astype(np.int32)}, TypeError,
     "input 'b' must have dtype f32 (numpy float32), got int32"),
    ({"a": A, "b": None}, TypeError,
     "input 'b' must be a numpy array of f32 (numpy float32) of shape (3,), got NoneType"),
    ({"a": A, "b": "abc"}, TypeError,
     "input 'b' must be a numpy array of f32 (numpy float32) of shape (3,), got str"),
    ({"a": A, "b": [1, "x", 3]}, TypeError,
     "input 'b' expects f32 (numpy float32); cannot convert a list of <U21 values to it "
     "without changing their kind"),
    ({"a": A, "b": [[1, 2], [3]]}, TypeError, "input 'b': cannot make an array of this list"),
    ({"a": A, "b": [1, 2]}, ValueError, "input 'b' has shape (2,), expected (3,)"),
    ({"a": A, "b": np.float32(1)}, ValueError, "input 'b' has shape (), expected (3,)"),
    ({"a": A, "B": B}, ValueError, "the model has no input named 'B'; its inputs are 'a', 'b'"),
])
def test_bad_feeds_name_the_input(add, feeds, kind, message):
    with pytest.raises(kind) as info:
        add.run(feeds)
    assert isinstance(info.value, ds.Error)
    assert str(info.value).startswith(message), str(info.value)


def test_feed_must_be_a_mapping(add):
    with pytest.raises(TypeError, match=r"the feed must be a dict \{input name: array\}, got list"):
        add.run([A, B])


def test_python_values_convert_when_lossless_in_kind(tmp_path):
    path = save_model(tmp_path / "mix.onnx",
                      [helper.make_node("Identity", ["i"], ["oi"]),
                       helper.make_node("Identity", ["u"], ["ou"]),
                       helper.make_node("Not", ["m"], ["om"])],
                      [("i", "i8", [2]), ("u", "ui8", [2]), ("m", "i1", [2])],
                      [("oi", "i8", [2]), ("ou", "ui8", [2]), ("om", "i1", [2])])
    session = ds.load(path, num_threads=1)
    out = session.run({"i": [-128, 127], "u": (0, 255), "m": [True, False]})
    assert out["oi"].dtype == np.int8 and out["oi"].tolist() == [-128, 127]
    assert out["ou"].dtype == np.uint8 and out["ou"].tolist() == [0, 255]
    assert out["om"].tolist() == [False, True]
    good = {"i": [0, 0], "u": [0, 0], "m": [True, True]}
    for name, value, kind, message in [
            ("i", [1.5, 2], TypeError, "cannot convert a list of float64 values"),
            ("i", [128, 0], ValueError, "input 'i': values 0..128 are out of the range -128..127"),
            ("u", [-1, 0], ValueError, "input 'u': values -1..0 are out of the range 0..255"),
            ("m", [1, 0], TypeError, "cannot convert a list of int64 values"),
            ("i", 2 ** 70, TypeError, "cannot convert a int of object values")]:
        with pytest.raises(kind, match=message):
            session.run({**good, name: value})
    # bool arrays viewed from other bytes still mean True
    m = np.array([2, 0], np.uint8).view(np.bool_)
    assert session.run({**good, "m": m})["om"].tolist() == [False, True]
