//===- ReportPasses.td - reports and checks ----------------*- tablegen -*-===//
//
// Reports: memory, cost, the model summary, symbolic dims and the runtime
// contract. Included by Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_REPORTPASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_REPORTPASSES_TD

include "mlir/Pass/PassBase.td"

def MemoryReportPass : Pass<"ds-memory-report", "ModuleOp"> {
  let summary = "Report liveness, peak bytes and the arena plan of @main as a remark";
  let description = [{
    Runs the `MemoryAnalysis` (include/ds/Dialect/DS/Analysis/MemoryAnalysis.h)
    on `@main` and reports, as a remark on it: the peak bytes alive at one
    step and that step, the arena the shared planner (`dsrt::planArena`, the
    one the artifact writer and the runtime use) needs, and the sum of all
    intermediates. A note at each of the largest values alive at the peak
    (at most `max-values`) gives its bytes and lifetime in steps. Steps are
    the ops of @main other than constants; a fusion group is one step.

    With dynamic dims there is no single plan: the remark says that the
    runtime plans memory per input shape and sums the values of static size.
    A module without `@main` is an error. The IR is left unchanged.

    ```
    remark: memory of @main: peak 400 bytes at step 3 (ds.binary 'scale'), arena 448 bytes, intermediates 528 bytes in 5 values; 4 alive at the peak
    note: loc("relu"): alive at the peak: %1 ('relu'), 128 bytes, steps 0..4
    ```
  }];
  let options = [
    Option<"maxValues", "max-values", "unsigned", /*default=*/"8",
           "How many of the largest values alive at the peak to name">,
  ];
}

def CostReportPass : Pass<"ds-cost-report", "ModuleOp"> {
  let summary = "Report FLOPs, bytes moved, roofline time and memory of @main, per op and in total";
  let description = [{
    For every step of `@main` (a fusion group is one step), the cost model
    (include/ds/Dialect/DS/Analysis/CostModel.h) gives arithmetic operations
    (a multiply-add counts two), bytes read and written, and a roofline time,
    max(flops / peak, bytes / bandwidth), on two machines: the CPU the pass
    runs on (its vector units and clock, `threads` cores, bandwidth measured
    with a streaming copy unless `cpu-gbps` fixes it; `cpu-gflops` fixes the
    f32 peak) and an H200. The memory analysis adds the peak bytes alive, the
    step reaching it, what is alive there and which op produced it, and the
    bytes alive at every step (memory over time).

    `format=text` prints the totals, the `top` most expensive ops and the
    largest values alive at the peak; `format=json` writes one JSON object
    with everything (one line: with `append`, a file holds one object per
    stage, JSON Lines). `stage` names the point of the pipeline the report
    describes: `ds-compile --cost-report` runs this pass after each
    efficiency pass, so a model's cost is shown before and after each
    technique. Ops whose sizes are dynamic are counted apart (bind the dims
    with --ds-input-shape to cost them). The IR is left unchanged.

    ```
    cost of @main (stage: imported): 45 steps, 2.31 GFLOP, 120.3 MB moved
      roofline: cpu 15.2 ms, gpu 0.031 ms
      memory: peak 12.3 MB at step 7 (ds.matmul 'fc1'), arena 14.0 MB
    ```
  }];
  let options = [
    Option<"outputFile", "output", "std::string", /*default=*/"\"-\"",
           "Where to write the report ('-' = stdout)">,
    Option<"format", "format", "std::string", /*default=*/"\"text\"",
           "text or json">,
    Option<"stage", "stage", "std::string", /*default=*/"\"\"",
           "Name of the pipeline stage the report describes">,
    Option<"append", "append", "bool", /*default=*/"false",
           "Add to the file instead of replacing it">,
    Option<"top", "top", "unsigned", /*default=*/"10",
           "How many ops and values the text report names">,
    Option<"threads", "threads", "unsigned", /*default=*/"0",
           "CPU cores the roofline counts (0: all)">,
    Option<"cpuGflops", "cpu-gflops", "double", /*default=*/"0.0",
           "Fix the CPU's f32 peak (GFLOP/s; 0: from its vector units and clock)">,
    Option<"cpuGbps", "cpu-gbps", "double", /*default=*/"0.0",
           "Fix the CPU's memory bandwidth (GB/s; 0: measured)">,
  ];
}

def ModelSummaryPass : Pass<"ds-model-summary", "ModuleOp"> {
  let summary = "Print a one-screen summary of each function: ops by kind, parameters, tensor bytes";
  let description = [{
    Counts ops by name and kind (e.g. `ds.binary add`), parameters (elements of
    constants that are not scalars or shape tensors) with their bytes, and the
    bytes of all intermediate tensors with static shapes (dynamic ones are
    counted separately). The IR is left unchanged.
  }];
  let options = [
    Option<"outputFile", "output", "std::string", /*default=*/"\"-\"",
           "Where to write the summary ('-' = stdout)">,
  ];
}

def PrintSymbolicDimsPass : Pass<"ds-print-symbolic-dims", "func::FuncOp"> {
  let summary = "Remark the SymbolicDims of every op result (for tests and debugging)";
  let description = [{
    Runs the SymbolicDims analysis and attaches to each op a remark with the
    sizes of its results: `[2, s0, s0 + -1]`, `sN` naming the N-th unknown,
    `?` where the analysis has nothing. Small integer tensors also show their
    known values after `=`.
  }];
}

def VerifyRuntimeContractPass : Pass<"ds-verify-runtime-contract", "ModuleOp"> {
  let summary = "Check ds ops against the CPU runtime's attribute contract";
  let description = [{
    The CPU runtime reads each step's attributes by name and refuses, at load,
    an artifact whose attributes differ from
    `include/ds-runtime/ds_op_attributes.def` (name, kind, required, range,
    allowed spellings). This pass checks the compiler against that table:

    - on the IR: every ds op (but `ds.constant`) must be an op the runtime
      runs, with exactly the attributes the table lists, as the artifact writer
      would store them (enums by spelling, bool / unit as int, ...), in range
      and with every required one present; each violation is an error on the op;
    - with `dialect`, also on the dialect itself: every registered ds op is a
      CPU step of the table or `ds.constant` / `ds.fusion_group` / `ds.yield`,
      each op's ODS attribute names equal the table's, the kind the writer
      stores each ODS attribute as (found by asking the op's own attribute
      constraints) equals the table's, unit attributes are optional and enum
      spellings agree both ways. A consistent dialect gets a remark:

    ```
    remark: contract: 45 ops, 94 attributes, consistent
    ```

    The IR is left unchanged. The artifact writer applies the per-op check to
    every step of a CPU artifact, so it never writes what the runtime refuses.
  }];
  let options = [
    Option<"dialect", "dialect", "bool", /*default=*/"false",
           "Also compare every registered ds op's ODS attributes with the table">,
  ];
}

#endif // DS_DIALECT_DS_TRANSFORMS_REPORTPASSES_TD
