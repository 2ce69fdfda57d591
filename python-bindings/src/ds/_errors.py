"""The exceptions of the ds package. Every one is a ds.Error (a RuntimeError);
bad inputs are also the built-in exception Python code expects for them."""

from . import _ds

Error = _ds.Error
NoDeviceError = _ds.NoDeviceError
# In-process compilation (when the extension links the compiler) raises its own.
if hasattr(_ds, "CompileError"):
    CompileError = _ds.CompileError
else:  # the subprocess path (ds-compile) raises the same type
    class CompileError(Error):  # type: ignore[no-redef]
        """A model could not be compiled; the message names the file and node."""


class InputError(Error, ValueError):
    """A feed the model cannot take: an unknown or missing input name, a wrong
    shape, a value out of the input type's range."""


class InputTypeError(Error, TypeError):
    """A feed of the wrong kind: a name that is not a string, a value that is not
    an array, an array of another dtype than the input's."""
