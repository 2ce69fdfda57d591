"""Every element type in and out (issue 15, item 14): inputs of any runtime
type are taken as numpy / ml_dtypes arrays, and outputs come back as proper
numpy arrays of their type (f16 -> numpy.float16; bf16, float8, int4/uint4/
int2/uint2 -> ml_dtypes), with the sub-byte integers' encodings translated
(ml_dtypes keeps the low bits, the runtime sign-extends signed ones)."""

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper

import ds
from model_builder import ONNX_TYPES, save_model

NUMPY = {
    "f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": ml_dtypes.bfloat16,
    "i64": np.int64, "i32": np.int32, "i16": np.int16, "i8": np.int8, "ui64": np.uint64,
    "ui32": np.uint32, "ui16": np.uint16, "ui8": np.uint8, "i1": np.bool_,
    "f8E4M3FN": ml_dtypes.float8_e4m3fn, "f8E5M2": ml_dtypes.float8_e5m2,
    "f8E4M3FNUZ": ml_dtypes.float8_e4m3fnuz, "f8E5M2FNUZ": ml_dtypes.float8_e5m2fnuz,
    "i4": ml_dtypes.int4, "ui4": ml_dtypes.uint4, "i2": ml_dtypes.int2, "ui2": ml_dtypes.uint2,
}
UNSIGNED = {"ui64", "ui32", "ui16", "ui8", "ui4", "ui2"}


def values(name):
    """Values every type holds exactly: within int2 / uint2 and bool."""
    if name == "i1":
        return np.array([[True, False, True], [False, False, True]])
    base = [[0, 1, 3], [2, 1, 0]] if name in UNSIGNED else [[-2, -1, 0], [1, 0, -2]]
    return np.array(base, np.float32).astype(NUMPY[name])


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    out = {}
    tmp = tmp_path_factory.mktemp("dtypes")
    for name in NUMPY:
        nodes = [helper.make_node("Identity", ["x"], ["same"]),
                 helper.make_node("Cast", ["x"], ["as_f32"], to=TensorProto.FLOAT),
                 helper.make_node("Cast", ["g"], ["from_f32"], to=ONNX_TYPES[name])]
        path = save_model(tmp / f"{name}.onnx", nodes, [("x", name, [2, 3]), ("g", "f32", [2, 3])],
                          [("same", name, [2, 3]), ("as_f32", "f32", [2, 3]),
                           ("from_f32", name, [2, 3])], opset=25)
        out[name] = ds.load(path, num_threads=1)
    return out


@pytest.mark.parametrize("name", list(NUMPY))
def test_every_type_in_and_out(sessions, name):
    session = sessions[name]
    x = values(name)
    g = x.astype(np.float32)
    out = session.run({"x": x, "g": g})
    for key in ("same", "from_f32"):
        got = out[key]
        assert isinstance(got, np.ndarray) and got.dtype == np.dtype(NUMPY[name]), (key, got.dtype)
        assert got.shape == (2, 3)
        assert got.tobytes() == x.tobytes(), (key, got, x)  # canonical bytes, not only values
    np.testing.assert_array_equal(out["as_f32"], g)


@pytest.mark.parametrize("name", ["i4", "i2", "ui4", "ui2"])
def test_sub_byte_inputs_read_the_low_bits(sessions, name):
    # an ml_dtypes array made from bytes with high bits set still means its low bits
    x = values(name)
    noisy = (x.view(np.uint8) | np.uint8(0xf0 if name.endswith("4") else 0xfc)).view(x.dtype)
    np.testing.assert_array_equal(sessions[name].run({"x": noisy, "g": x.astype(np.float32)})
                                  ["as_f32"], x.astype(np.float32))


def test_bf16_output_is_an_array_not_an_object(sessions):
    got = sessions["bf16"].run({"x": values("bf16"), "g": np.zeros((2, 3), np.float32)})["same"]
    assert got.dtype == ml_dtypes.bfloat16 and got.ndim == 2
    assert got.astype(np.float32).tolist() == [[-2, -1, 0], [1, 0, -2]]


def test_wrong_ml_dtype_is_refused(sessions):
    with pytest.raises(TypeError, match=r"input 'x' must have dtype bf16 \(numpy bfloat16\), "
                                        r"got float16"):
        sessions["bf16"].run({"x": values("f16"), "g": np.zeros((2, 3), np.float32)})
    with pytest.raises(TypeError, match=r"input 'x' must have dtype i4 \(numpy int4\), got int8"):
        sessions["i4"].run({"x": values("i8"), "g": np.zeros((2, 3), np.float32)})
