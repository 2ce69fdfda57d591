"""The exceptions of the ds package. Every one is a ds.Error (a RuntimeError);
bad inputs are also the built-in exception Python code expects for them."""

from . import _ds

Error = _ds.Error
NoDeviceError = _ds.NoDeviceError
# Raised by the in-process compiler: the message names the file and node.
CompileError = _ds.CompileError


class InputError(Error, ValueError):
    """A feed the model cannot take: an unknown or missing input name, a wrong
    shape, a value out of the input type's range."""


class InputTypeError(Error, TypeError):
    """A feed of the wrong kind: a name that is not a string, a value that is not
    an array, an array of another dtype than the input's."""
