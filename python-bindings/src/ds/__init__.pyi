# Type stub of the public package: the names ds exports, each annotated where it
# is defined (the package's .py modules and _ds.pyi). `X as X` marks a re-export.
from ._calibrate import (calibrate as calibrate,
                         calibrate_attention_heads as calibrate_attention_heads)
from ._compile import compile as compile, load as load
from ._report import cost_report as cost_report, plot_memory as plot_memory
from ._training import (CheckpointError as CheckpointError, LossScaler as LossScaler,
                        TrainingSession as TrainingSession)
from ._errors import (CompileError as CompileError, CompileWarning as CompileWarning,
                      Error as Error, InputError as InputError,
                      InputTypeError as InputTypeError, NoDeviceError as NoDeviceError)
from ._ort import (InferenceSession as InferenceSession, ModelMetadata as ModelMetadata,
                   NodeArg as NodeArg, RunOptions as RunOptions, SessionOptions as SessionOptions,
                   get_available_providers as get_available_providers, get_device as get_device)
from ._session import Session as Session

__all__ = ["CheckpointError", "CompileError", "CompileWarning", "Error", "InferenceSession", "InputError",
           "InputTypeError", "LossScaler", "ModelMetadata", "NoDeviceError", "NodeArg",
           "RunOptions", "Session", "SessionOptions", "TrainingSession", "calibrate",
           "calibrate_attention_heads", "compile",
           "cost_report", "get_available_providers", "get_device", "load", "plot_memory"]
