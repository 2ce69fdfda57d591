"""Element types: the runtime's names, numpy dtypes, ONNX Runtime's type strings,
and the conversion of arrays to and from the runtime's byte encoding.

The runtime stores every element type in whole bytes. bf16, the float8 types
and the sub-byte integers are ml_dtypes types on the numpy side. Sub-byte
integers (int4/uint4/int2/uint2) take one byte each in both, but the encodings
differ: ml_dtypes keeps the low bits (int4 -3 is 0x0d) while the runtime keeps
signed ones sign-extended (int4 -3 is 0xfd) and unsigned ones in the low bits;
to_runtime/from_runtime translate.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

try:
    import ml_dtypes
except ImportError:  # the package depends on it; without it those types are refused
    ml_dtypes = None  # type: ignore[assignment]


class DType(NamedTuple):
    name: str  # the runtime's name: "f32", "bf16", "i4", ...
    numpy: Optional[np.dtype]  # None: needs ml_dtypes, which is missing
    ort: str  # ONNX Runtime's NodeArg.type: "tensor(float)", ...
    bits: int  # for sub-byte integers: the bits used in each byte; else 0
    signed: bool


def _ml(name: str) -> Optional[np.dtype]:
    kind = getattr(ml_dtypes, name, None) if ml_dtypes is not None else None
    return np.dtype(kind) if kind is not None else None


def _table() -> Dict[str, DType]:
    rows: List[Tuple[str, Optional[np.dtype], str, int, bool]] = [
        ("f32", np.dtype(np.float32), "float", 0, True),
        ("f64", np.dtype(np.float64), "double", 0, True),
        ("f16", np.dtype(np.float16), "float16", 0, True),
        ("bf16", _ml("bfloat16"), "bfloat16", 0, True),
        ("i64", np.dtype(np.int64), "int64", 0, True),
        ("i32", np.dtype(np.int32), "int32", 0, True),
        ("i16", np.dtype(np.int16), "int16", 0, True),
        ("i8", np.dtype(np.int8), "int8", 0, True),
        ("ui64", np.dtype(np.uint64), "uint64", 0, False),
        ("ui32", np.dtype(np.uint32), "uint32", 0, False),
        ("ui16", np.dtype(np.uint16), "uint16", 0, False),
        ("ui8", np.dtype(np.uint8), "uint8", 0, False),
        ("i1", np.dtype(np.bool_), "bool", 0, False),
        ("f8E4M3FN", _ml("float8_e4m3fn"), "float8e4m3fn", 0, True),
        ("f8E5M2", _ml("float8_e5m2"), "float8e5m2", 0, True),
        ("f8E4M3FNUZ", _ml("float8_e4m3fnuz"), "float8e4m3fnuz", 0, True),
        ("f8E5M2FNUZ", _ml("float8_e5m2fnuz"), "float8e5m2fnuz", 0, True),
        ("i4", _ml("int4"), "int4", 4, True),
        ("ui4", _ml("uint4"), "uint4", 4, False),
        ("i2", _ml("int2"), "int2", 2, True),
        ("ui2", _ml("uint2"), "uint2", 2, False),
    ]
    return {r[0]: DType(r[0], r[1], f"tensor({r[2]})", r[3], r[4]) for r in rows}


DTYPES = _table()
FLOATS = {"f32", "f64", "f16", "bf16", "f8E4M3FN", "f8E5M2", "f8E4M3FNUZ", "f8E5M2FNUZ"}


def lookup(name: str) -> DType:
    try:
        return DTYPES[name]
    except KeyError:
        raise TypeError(f"unknown runtime element type {name!r}") from None


def numpy_dtype(dtype: DType) -> np.dtype:
    if dtype.numpy is None:
        raise TypeError(f"element type {dtype.name} needs the ml_dtypes package "
                        "(pip install ml_dtypes)")
    return dtype.numpy


def describe(dtype: DType) -> str:
    """How messages name a type: "f32 (numpy float32)"."""
    np_name = dtype.numpy.name if dtype.numpy is not None else "ml_dtypes, not installed"
    return f"{dtype.name} (numpy {np_name})"


def to_runtime(array: np.ndarray, dtype: DType) -> np.ndarray:
    """The bytes the runtime reads for `array` (C-contiguous, native order, of
    dtype.numpy): a flat uint8 array, a view where no translation is needed."""
    flat = array.reshape(-1).view(np.uint8)
    if dtype.bits:
        mask = (1 << dtype.bits) - 1
        flat = flat & np.uint8(mask)
        if dtype.signed:  # sign-extend the low bits
            half = np.int8(1 << (dtype.bits - 1))
            flat = ((flat ^ np.uint8(half)).view(np.int8) - half).view(np.uint8)
    elif dtype.name == "i1":  # a bool array viewed from other bytes may hold 2..255
        flat = (flat != 0).view(np.uint8)
    return flat


def from_runtime(flat: np.ndarray, dtype: DType, dims: Sequence[int]) -> np.ndarray:
    """The numpy array of dtype.numpy for the runtime's bytes `flat`."""
    if dtype.bits:
        flat = flat & np.uint8((1 << dtype.bits) - 1)
    return flat.view(numpy_dtype(dtype)).reshape(tuple(dims))


def shape_text(dims: Sequence[Optional[int]]) -> str:
    """(2, 3); () for a scalar; None for a dynamic dim."""
    return str(tuple(None if d is None or d < 0 else int(d) for d in dims))


def matches(shape: Tuple[int, ...], dims: Sequence[int]) -> bool:
    return len(shape) == len(dims) and all(d < 0 or s == d for s, d in zip(shape, dims))
