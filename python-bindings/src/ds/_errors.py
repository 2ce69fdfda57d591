"""The exceptions of the ds package. Every one is a ds.Error (a RuntimeError);
bad inputs are also the built-in exception Python code expects for them."""

from . import _ds

Error = _ds.Error
NoDeviceError = _ds.NoDeviceError


class CompileError(Error):
    """A model could not be compiled; the message names the model file and the
    ONNX node, one `model.onnx: error: node 'x': ...` line per diagnostic."""


class CompileWarning(UserWarning):
    """What the compiler warns of in a model it compiled (a sparse layout that
    leaves queries with no key, ...): one `model.onnx: warning: ...` line."""


class InputError(Error, ValueError):
    """A feed the model cannot take: an unknown or missing input name, a wrong
    shape, a value out of the input type's range."""


class InputTypeError(Error, TypeError):
    """A feed of the wrong kind: a name that is not a string, a value that is not
    an array, an array of another dtype than the input's."""
