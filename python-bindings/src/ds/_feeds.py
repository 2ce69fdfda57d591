"""Turning a feed {input name: value} into what the runtime reads.

The rules (documented on Session.run):
- numpy arrays (and numpy scalars, and objects numpy converts without a copy
  of meaning: __array__, buffers) must have the input's dtype exactly; any
  byte order, memory layout, stride or read-only flag is fine (a native
  C-contiguous copy is made where needed). No implicit casts: a float64 array
  for a float32 input is refused, as onnxruntime does.
- Python scalars, lists and tuples are converted to the input's dtype when
  that keeps their kind: bools to bool; bools and ints to integer types (in
  range) and to floating types; floats to floating types (rounded to the
  input's precision).
- Every refusal is an InputError (ValueError) or InputTypeError (TypeError),
  both ds.Error, naming the input and what it expects.
"""

from __future__ import annotations

from typing import Any, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _dtypes
from ._dtypes import DType
from ._errors import InputError, InputTypeError


class InputSpec(NamedTuple):
    name: str
    dtype: DType
    dims: Tuple[int, ...]  # -1: dynamic
    default: Optional[np.ndarray]  # the runtime's bytes of a default value, or None
    any_rank: bool = False  # declared without a shape: one element may come at any rank

    def expects(self) -> str:
        return f"{_dtypes.describe(self.dtype)} of shape {_dtypes.shape_text(self.dims)}"


def _python_value(spec: InputSpec, value: Any, want: np.dtype) -> np.ndarray:
    try:
        natural = np.asarray(value)
    except (ValueError, TypeError) as e:  # ragged lists and the like
        raise InputTypeError(f"input '{spec.name}': cannot make an array of this "
                             f"{type(value).__name__}: {e}") from None
    kind = natural.dtype.kind
    name = spec.dtype.name
    if name == "i1":
        ok = kind == "b"
    elif name in _dtypes.FLOATS:
        ok = kind in "biuf"
    else:
        ok = kind in "biu"
    if not ok:
        raise InputTypeError(f"input '{spec.name}' expects {_dtypes.describe(spec.dtype)}; "
                             f"cannot convert a {type(value).__name__} of {natural.dtype} values "
                             "to it without changing their kind")
    if kind in "iu" and name not in _dtypes.FLOATS and natural.size:
        info = (_dtypes.ml_dtypes.iinfo if want.kind == "V" else np.iinfo)(want)
        low, high = natural.min(), natural.max()
        if low < int(info.min) or high > int(info.max):
            raise InputError(f"input '{spec.name}': values {low}..{high} are out of the range "
                             f"{int(info.min)}..{int(info.max)} of {spec.dtype.name}")
    return np.asarray(natural, dtype=want)


def _array(spec: InputSpec, value: Any) -> np.ndarray:
    want = _dtypes.numpy_dtype(spec.dtype)
    if isinstance(value, (bool, int, float, list, tuple)):
        array = _python_value(spec, value, want)
    elif isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
    elif (hasattr(value, "__array__") or hasattr(value, "__array_interface__")
          or isinstance(value, memoryview)):
        try:
            array = np.asarray(value)
        except Exception as e:  # a foreign __array__ may raise anything
            raise InputTypeError(f"input '{spec.name}': cannot convert "
                                 f"{type(value).__name__} to a numpy array: {e}") from None
    else:
        raise InputTypeError(f"input '{spec.name}' must be a numpy array of {spec.expects()}, "
                             f"got {type(value).__name__}")
    if array.dtype != want:
        native = array.dtype.newbyteorder("=") if array.dtype.isnative is False else array.dtype
        if native != want:
            raise InputTypeError(f"input '{spec.name}' must have dtype {_dtypes.describe(spec.dtype)}"
                                 f", got {array.dtype}")
        array = array.astype(want)  # to native byte order
    if (spec.any_rank and array.size == 1 and not _dtypes.matches(array.shape, spec.dims)
            and all(d in (1, -1) for d in spec.dims)):
        array = array.reshape([1] * len(spec.dims))  # e.g. an old Clip bound passed as [1]
    if not _dtypes.matches(array.shape, spec.dims):
        raise InputError(f"input '{spec.name}' has shape {array.shape}, expected "
                         f"{_dtypes.shape_text(spec.dims)}"
                         + (" (or one element at any rank: the model declares it without a "
                            "shape)" if spec.any_rank else ""))
    if not array.flags.c_contiguous:
        array = array.copy(order="C")  # (np.ascontiguousarray turns rank 0 into rank 1)
    return array


def convert(specs: Sequence[InputSpec], feed: Mapping[str, Any]
            ) -> Tuple[List[np.ndarray], List[List[int]]]:
    """One flat uint8 array and its dims per input, in the model's order."""
    if not isinstance(feed, Mapping):
        raise InputTypeError(f"the feed must be a dict {{input name: array}}, got "
                             f"{type(feed).__name__}")
    known = {s.name for s in specs}
    for key in feed:
        if not isinstance(key, str):
            raise InputTypeError(f"input names must be strings, got {type(key).__name__} {key!r}")
        if key not in known:
            raise InputError(f"the model has no input named {key!r}; its inputs are "
                             + ", ".join(repr(s.name) for s in specs))
    data: List[np.ndarray] = []
    dims: List[List[int]] = []
    for spec in specs:
        if spec.name in feed:
            array = _array(spec, feed[spec.name])
            data.append(_dtypes.to_runtime(array, spec.dtype))
            dims.append(list(array.shape))
        elif spec.default is not None:
            data.append(spec.default)
            dims.append(list(spec.dims))
        else:
            raise InputError(f"missing input '{spec.name}': expected {spec.expects()}")
    return data, dims
