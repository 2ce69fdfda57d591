//===- Passes.td - the CUDA target's passes --------------------*- tablegen -*-===//
//
// What `ds-compile --target=cuda` runs after ds-fuse, before emission: each
// a registered pass, so `ds-opt --ds-compile-pipeline="target=cuda"` shows
// the IR the emitter sees.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TARGET_CUDA_PASSES_TD
#define DS_TARGET_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def CUDAWrapOpsPass : Pass<"ds-cuda-wrap-ops", "func::FuncOp"> {
  let summary = "Wrap every ds op outside a fusion group into a group of its own";
  let description = [{
    The CUDA target emits one kernel (or library call) per `ds.fusion_group`.
    Ops that ds-fuse left alone, or IR that never went through it, become
    single-op groups of the kind ds-fuse would give them. Constants stay
    outside (they are artifact constants, not kernels); existing groups are
    left as they are, so the pass is idempotent.
  }];
  let dependentDialects = ["mlir::ds::DSDialect"];
}

def CUDATrailingReductionsPass : Pass<"ds-cuda-trailing-reductions", "func::FuncOp"> {
  let summary = "Move reduced axes to the end, where the CUDA reduction kernel reduces";
  let description = [{
    The CUDA reduction kernel reduces the trailing elements of each row.
    A `ds.reduce` over other axes becomes a `ds.transpose` that moves the
    reduced axes last (in their order) and a reduce over the trailing axes;
    with `keepdims`, a second transpose puts the unit dims back where they
    were (a copy of the small result). A `ds.softmax` over an axis followed
    by non-unit dims becomes transpose, softmax over the last axis and the
    inverse transpose. Reductions that already reduce trailing axes are left
    alone, so the pass is idempotent; it runs before ds-fuse, which may fuse
    the transposes into their neighbours.
  }];
  let dependentDialects = ["mlir::ds::DSDialect"];
}

def CUDAExpandGemmBatchPass : Pass<"ds-cuda-expand-gemm-batch", "func::FuncOp"> {
  let summary = "Expand matmul operands whose batch dims broadcast only in part";
  let description = [{
    cuBLASLt runs a batched matmul with one stride per operand between
    batches: an operand is either batched like the result or not at all
    (stride 0). An operand whose leading dims broadcast in part against the
    result's batch dims (`3x1x3x4` against a `3x2` batch) gets a `ds.expand`
    to the full batch first, a copy the size of the expanded operand. Dynamic
    batch dims are left alone (the emitter reports them); the pass is
    idempotent and runs before ds-fuse.
  }];
  let dependentDialects = ["mlir::ds::DSDialect"];
}

def CUDASplitGemmGroupsPass : Pass<"ds-cuda-split-gemm-groups", "func::FuncOp"> {
  let summary = "Split matmul groups into a cuBLASLt step and an elementwise rest";
  let description = [{
    cuBLASLt reads a matmul's operands from memory and applies only a fixed
    epilogue: a row bias, a residual of the result's shape (C with beta = 1),
    then relu or tanh-approximated gelu. A contraction group around a
    `ds.matmul` keeps the matmul and that epilogue; every other op of the
    group moves into a following elementwise group that reads the matmul's
    result. Groups that are already of that form are left alone.

    Errors: a group with two matmuls, a matmul whose operands are computed
    inside the group (fused producers), or a group that yields a value from
    the middle of the epilogue.
  }];
  let dependentDialects = ["mlir::ds::DSDialect"];
}

def EmitCUDAPass : Pass<"ds-emit-cuda", "ModuleOp"> {
  let summary = "Print the CUDA source and step list the CUDA target emits for @main";
  let description = [{
    Prints what `ds-compile --target=cuda --dump-cuda=-` writes: the CUDA
    source, then the step list as comments. Every op of @main must be a
    `ds.constant` or a `ds.fusion_group` (run `--ds-cuda-wrap-ops` and
    `--ds-cuda-split-gemm-groups` first, or the whole
    `--ds-compile-pipeline="target=cuda"`). The IR is left unchanged.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "Where to write ('-' = stdout)">,
  ];
}

#endif // DS_TARGET_CUDA_PASSES_TD
