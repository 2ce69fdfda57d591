"""ds: compile ONNX models and run them with the ds runtime.

    import ds, numpy as np
    session = ds.load("model.onnx")            # compiles to an artifact first
    outputs = session.run({"input": np.zeros((1, 3, 224, 224), np.float32)})

or, for code written for onnxruntime, the same calls:

    session = ds.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"input": x})
"""

from ._calibrate import calibrate, calibrate_attention_heads
from ._compile import compile, load
from ._report import cost_report, plot_memory
from ._training import CheckpointError, LossScaler, TrainingSession
from ._errors import CompileError, CompileWarning, Error, InputError, InputTypeError, NoDeviceError
from ._ort import (InferenceSession, ModelMetadata, NodeArg, RunOptions, SessionOptions,
                   get_available_providers, get_device)
from ._session import Session

__all__ = ["CheckpointError", "CompileError", "CompileWarning", "Error", "InferenceSession", "InputError",
           "InputTypeError", "LossScaler", "ModelMetadata", "NoDeviceError", "NodeArg",
           "RunOptions", "Session", "SessionOptions", "TrainingSession", "calibrate",
           "calibrate_attention_heads", "compile",
           "cost_report", "get_available_providers", "get_device", "load", "plot_memory"]
