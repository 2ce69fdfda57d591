# Type stubs of the extension module ds._ds_compiler (compile.cpp): the compiler,
# in-process. Raises ds.CompileError (ds._errors) with the diagnostics;
# compile_onnx returns those of a model that compiled (warnings).
from typing import Sequence, Tuple

def compile_onnx(model_path: str, output_path: str, target: str = "cpu",
                 input_shapes: Sequence[str] = ..., bound_inputs: Sequence[str] = ...,
                 fuse: bool = True, precision: str = "fp32", quantize: str = "none",
                 calibration_table: str = "", calibration_probes: bool = False,
                 quantize_exclude_nodes: Sequence[str] = ...,
                 raise_attention: bool = True, attention_window: int = 0,
                 attention_sinks: int = 0, attention_select_blocks: int = 0,
                 attention_block_size: int = 64, attention_local_blocks: int = 0,
                 attention_stride_blocks: int = 0, attention_global_blocks: int = 0,
                 attention_layout_file: str = "",
                 attention_dense_heads: Sequence[str] = ..., attention_probes: bool = False,
                 remat_budget: str = "",
                 remat_strategy: str = "greedy", cost_report: str = "",
                 cost_report_format: str = "text", gradients: bool = False, loss: str = "",
                 loss_function: str = "", gradient_parameters: Sequence[str] = ...,
                 optimizer: str = "", hyperparameters: Sequence[float] = ...,
                 loss_scaling: bool = False, lsq_grad_scale: bool = False,
                 precision_table: str = "", precision_error_budget: float = 0.0,
                 precision_probes: str = "", precision_report: str = "",
                 weight_block_size: int = -1, fused_attention_grad: bool = True) -> str: ...
def save_weights(source: str, destination: str,
                 weights: Sequence[Tuple[str, int, Sequence[int], bytes]]) -> None: ...
