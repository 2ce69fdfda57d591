# lit configuration of the ds test suite.
import os

import lit.formats

config.name = "ds"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ds_obj_root, "test")

config.environment["PATH"] = os.pathsep.join(
    [config.ds_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))]
)
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%utils", os.path.join(config.ds_src_root, "utils")))
config.substitutions.append(("%onnx_node_tests", config.onnx_node_tests))
config.substitutions.append(("%ds_obj_root", config.ds_obj_root))
config.substitutions.append(("%ds_src_root", config.ds_src_root))

# NVRTC is linked into ds-compile (the CUDA target compiles its kernels).
if getattr(config, "ds_have_nvrtc", "OFF").upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("nvrtc")
# Sanitized tools (scripts/sanitizer-check.sh): memory-footprint tests do not apply.
if "-fsanitize=" in getattr(config, "ds_cxx_flags", ""):
    config.available_features.add("sanitizers")
