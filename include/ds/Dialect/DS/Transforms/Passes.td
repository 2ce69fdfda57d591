//===- Passes.td - ds dialect passes ---------------------------*- tablegen -*-===//
#ifndef DS_DIALECT_DS_TRANSFORMS_PASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Analysis and reporting
//===----------------------------------------------------------------------===//

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

//===----------------------------------------------------------------------===//
// Precision
//===----------------------------------------------------------------------===//

def RaiseAttentionPass : Pass<"ds-raise-attention", "func::FuncOp"> {
  let summary = "Raise exported softmax(QKᵀ·scale + mask)·V subgraphs to ds.attention";
  let description = [{
    Exporters write attention as separate ops: a matmul of queries and
    transposed keys, a scale (Div or Mul by a constant, or split as Mul on Q
    and on K), a mask, a softmax over the keys and a matmul with the values.
    This pass replaces each such chain with one `ds.attention`, which never
    materializes the [batch, heads, queries, keys] scores and skips the
    key tiles a causal mask hides.

    ```mlir
    %kt = ds.transpose %k {perm = array<i64: 0, 1, 3, 2>}
    %s = ds.matmul %q, %kt
    %d = ds.binary div %s, %c4
    %m = ds.binary add %d, %mask
    %p = ds.softmax %m {axis = 3 : i64}
    %o = ds.matmul %p, %v
    // becomes
    %o = ds.attention %q, %k, %v, %mask {scale = 2.500000e-01 : f64}
    ```

    Masks:
    - an added float mask stays a float mask (BERT's `(1 - m) * -10000`),
      unless it is a causal triangle of 0 and values <= -1e30;
    - `where(keep, scores, fill)` (masked_fill) becomes a boolean mask when
      `fill` is -inf, and the additive mask `where(keep, 0, fill)` when it is
      finite and <= -1e30 (any score added to such a fill rounds back to it,
      so even fully masked rows agree); other fills are left alone, because
      a fully masked row would change;
    - a boolean or additive mask that is a causal triangle becomes
      `is_causal` with its offset: a constant triangle, or one built from
      Range ops and compared (`arange(L)[None, :] <= arange(S)[:, None] +
      past`). The ranges must provably span the queries and the keys
      (SymbolicDims); a triangle whose diagonal is the number of keys minus
      the number of queries, a KV cache of run-time length, becomes
      `causal_from_end`. With a finite fill, only when every query provably
      sees a key;
    - a band (j <= d(i)) & (j > d(i) - W) around the causal diagonal, W a
      constant, becomes causal attention with `window` = W;
    - TopK indices over the keys scattered as 0 into -inf (DeepSeek Sparse
      Attention's reference code), alone or plus a causal mask, become
      `ds.sparse_attention`; so do TopK indices over n blocks scattered into
      a -inf [B, S, n] mask widened to the L = n b keys block by block
      (unsqueeze, expand, reshape: Native Sparse Attention's selection
      branch, L static), over the chosen blocks' keys.
    A scale applied after the mask is not folded (the mask would be scaled).
    Rows in which every key is masked with -inf give 0 in ds.attention
    where the unfused graph gives NaN.

    Grouped-query attention written as repeat_kv (reshape to 5-D, Expand,
    reshape back) is dropped in favour of ds.attention's own KV-head
    sharing. With `explain`, each softmax that feeds a matmul gets a remark:
    raised, and how, or why not.
  }];
  let options = [
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Remark on every candidate: what was raised, or why not">,
  ];
}

def SparsifyAttentionPass : Pass<"ds-sparsify-attention", "func::FuncOp"> {
  let summary = "Make ds.attention sparse: a window with sinks, block selection or a block layout";
  let description = [{
    Static sparse attention (Longformer / Mistral's sliding window,
    StreamingLLM's attention sinks): every causal `ds.attention` gets
    `window` = W and `sink_tokens` = N, so query i attends only to the W
    keys ending at its diagonal and to the first N keys. The kernels skip
    the key tiles this hides: the cost per query is O(W + N) instead of
    O(L). This changes the model's results (it is a policy, not an
    equivalence) except where W covers every visible key; non-causal
    attention (encoders) is left dense.

    ```mlir
    %o = ds.attention %q, %k, %v {is_causal}
    // with window=256 sinks=4 becomes
    %o = ds.attention %q, %k, %v {is_causal, sink_tokens = 4 : i64, window = 256 : i64}
    ```

    With `select-blocks` = n (instead of a window), attention selects its
    keys at run time, NSA-style (Yuan et al. 2025): queries and keys in
    blocks of `block-size`; each query block sees the first key block, its
    local blocks and the n earlier blocks whose summed keys score highest
    against its summed queries (DSOps.td, `ds.attention`). The selection is
    by block scores, not per query, so a block's queries share one GEMM per
    key tile.

    With `local-blocks`, `stride-blocks` and `global-blocks` (blocks of
    `block-size`, 1 to 1024), attention becomes `ds.block_sparse_attention`
    with a block layout, the patterns of Sparse Transformers (Child
    et al. 2019), Longformer and BigBird: each query block sees the
    `local-blocks` key blocks ending at its diagonal block (in encoders,
    within that distance on either side), every `stride-blocks`-th key
    block counting back from it, and the first `global-blocks` key blocks
    (in encoders the first `global-blocks` query blocks also see every
    key block). Encoders may take these patterns. With static lengths the
    layout is a constant (and an attention whose layout hides nothing stays
    dense); with lengths known only at run time it is a `ds.block_layout`
    of the pattern over the query's and key's `ds.shape`, built when the
    model runs (once per input shape up to 1 MiB of layout).

    With `layout-file`, the layout is the user's own: a NumPy `.npy` file of
    bools or integers 0 / 1, [query blocks, key blocks] for every head or
    [heads, query blocks, key blocks] with one row per query head, in blocks
    of `block-size`. It applies to every attention, causal or not (causality
    still hides the keys past each diagonal), whose query and key lengths
    are static and make exactly that many blocks; any other is an error
    naming both shapes. A query block whose kept key blocks hold no key its
    queries can see (where without the layout they would see some) gives 0,
    and a warning counts such blocks. A layout with a row per head already
    says which heads are dense (rows of ones), so it takes no `dense-heads`;
    a single-row layout does (the split pieces take it).

    With `dense-heads`, the pattern is chosen per head (DuoAttention's
    retrieval and streaming heads, Xiao et al. 2024): the listed query
    heads stay dense and the others get the pattern. Entries are `H` (head
    H of every attention) or `N:H` (head H of the N-th ds.attention of the
    function, counted from 0 in program order). An attention whose heads
    differ is split along the heads: `ds.slice` of its query heads (and of
    the KV heads they read, cut at KV-group boundaries), one ds.attention
    per run of heads with the same pattern, `ds.concat` of the results;
    heads and results keep their order.

    With `report`, each attention gets a remark with its cost dense and
    sparse: the (query, key) pairs computed per head, the FLOPs
    (2 (D + Dv) per pair for every batch and head) and the K / V bytes a
    query reads, from the closed forms for static shapes, per query for
    dynamic ones.
  }];
  let options = [
    Option<"window", "window", "int64_t", /*default=*/"0",
           "Keys each query sees, ending at its diagonal (> 0)">,
    Option<"selectBlocks", "select-blocks", "int64_t", /*default=*/"0",
           "Earlier key blocks each query block selects (NSA-style; instead of window)">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"64",
           "Queries / keys per block: select-blocks (1 to 128), block layouts (1 to 1024)">,
    Option<"sinks", "sinks", "int64_t", /*default=*/"0",
           "Leading keys every query also sees (attention sinks)">,
    Option<"localBlocks", "local-blocks", "int64_t", /*default=*/"0",
           "Block layout: key blocks ending at each query block's diagonal">,
    Option<"strideBlocks", "stride-blocks", "int64_t", /*default=*/"0",
           "Block layout: every n-th key block back from the diagonal">,
    Option<"globalBlocks", "global-blocks", "int64_t", /*default=*/"0",
           "Block layout: leading key blocks every query sees">,
    Option<"layoutFile", "layout-file", "std::string", /*default=*/"\"\"",
           "Block layout from a .npy file: [query blocks, key blocks] or [heads, ...], 0 / 1">,
    ListOption<"denseHeads", "dense-heads", "std::string",
               "Query heads left dense: H (every attention) or N:H (the N-th attention)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Remark the dense and sparse cost of each attention">,
  ];
}

def ComposeGeluPass : Pass<"ds-compose-gelu", "func::FuncOp"> {
  let summary = "Make GELU written out in ops one ds.unary gelu / gelu_tanh";
  let description = [{
    Exporters below opset 20 have no Gelu op: PyTorch writes `nn.GELU()` as
    `x * (1 + erf(x / sqrt 2)) * 0.5` and GPT-2's approximation as
    `0.5 x * (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))` (the cube as `pow`
    or products). Each becomes one `ds.unary gelu` / `gelu_tanh` of x: one
    pass over the activation instead of five to eight, and the tanh form
    maps onto cuBLASLt's GELU epilogue. Operands in any order, the constants
    up to the rounding of their float type (f32, f16, bf16), the scale as a
    division by sqrt 2 or a product with 1 / sqrt 2. A chain whose
    intermediates are read elsewhere (a gradient program's backward reads
    them) is left as it is, so the compile pipeline runs it after
    differentiation.

    ```mlir
    %0 = ds.binary div %x, %sqrt2
    %1 = ds.unary erf %0
    %2 = ds.binary add %1, %one
    %3 = ds.binary mul %x, %2
    %4 = ds.binary mul %3, %half
    // becomes
    %4 = ds.unary gelu %x
    ```
  }];
}

def FoldIntegerMatMulPass : Pass<"ds-fold-integer-matmul", "func::FuncOp"> {
  let summary = "Run the matmuls and convolutions of quantized models on 8-bit data";
  let description = [{
    Five rewrites, so that quantized models multiply (and pool) 8-bit
    integers:

    - **MatMulInteger**: `ds.matmul` in i32 whose operands are 8-bit tensors widened by
    `ds.cast`, each optionally minus its zero point (the widened 8-bit zero
    point, or an i32 constant that fits the 8-bit type), into
    `ds.matmul_integer` of the 8-bit operands and zero points. This is how the
    importer writes ONNX MatMulInteger, and what dynamic quantization
    (onnxruntime's `quantize_dynamic`) produces around every weight matmul.
    The lhs zero point must be one value, the rhs zero point one value or one
    per column; other forms (a per-row lhs zero point, a broadcasting
    subtraction) stay i32 matmuls. Zero points that are constant 0 are
    dropped. Results are equal bit for bit: both are exact in i32.
    - **QDQ**: an f32 `ds.matmul` of two `ds.dequantize`d 8-bit tensors (the
      lhs with one scale, the rhs with one or one per column) becomes
      `cast(matmul_integer(x, w, zx, zw)) * (sx * sw)`: the exact integer sum
      scaled once, where the float matmul rounded every partial sum. This is
      what QDQ models (onnxruntime's `quantize_static`, QAT exports) put
      around every quantized matmul.
    - **QDQ convolutions**: an f32 `ds.conv` of a dequantized 8-bit input
      (one scale) and weight (one scale, or one per output channel) becomes
      `cast(conv_integer(x, w, zx, zw)) * (sx * sw) + bias`, the scales and
      bias shaped [M, 1, ...] to broadcast over the channels.
    - **Dequantize after data movement**: ops that only copy elements of
      their first operand (the `DS_SelectsElements` trait: gather, reshape,
      transpose, slice, expand, tile, ...) of a tensor dequantized with one
      scale move the 8-bit data and dequantize what they select (a QDQ model
      otherwise dequantizes its whole embedding table on every run). A
      transpose also moves data dequantized with one scale per slice of an
      axis, the axis following it: a Gemm with transB over per-channel
      weights (onnxruntime's quantize_static, weight-only exporters) then
      transposes 8-bit constants, which the canonicalizer folds, and its
      matmul folds as above (or, with an f32 activation, in
      `ds-fold-weight-dequantize`).
    - **Max pools and requantization**: a max pool of 8-bit data
      dequantized with one positive constant scale (normal, at most 2^100)
      pools the 8-bit data (the dequantization is increasing); every window
      must hold an input element (no ceil mode or dilation, pads narrower
      than the kernel, static spatial dims of at least 1).
      `quantize(dequantize(q, s, z), s, z)` with such a scale and equal
      constant zero points (absent is 0) is `q` ((q - z) s / s rounds back
      to q - z).
      A QDQ model's DQ -> MaxPool -> Q then runs as one u8 max pool.

    The pass runs before the canonicalizer in the compile pipeline, which
    would fold dequantized constant weights into f32.

    ```mlir
    %a = ds.cast %x : tensor<4x8xui8> to tensor<4x8xi32>
    %za = ds.cast %zx : tensor<ui8> to tensor<i32>
    %s = ds.binary sub %a, %za : (tensor<4x8xi32>, tensor<i32>) -> tensor<4x8xi32>
    %b = ds.cast %w : tensor<8x3xi8> to tensor<8x3xi32>
    %y = ds.matmul %s, %b : (tensor<4x8xi32>, tensor<8x3xi32>) -> tensor<4x3xi32>
    // becomes
    %y = ds.matmul_integer %x, %w lhs_zero_point %zx : (tensor<4x8xui8>, tensor<8x3xi8>, tensor<ui8>) -> tensor<4x3xi32>
    ```
  }];
}

def QuantizeDynamicPass : Pass<"ds-quantize-dynamic", "func::FuncOp"> {
  let summary = "Quantize matmul and convolution weights to int8 here and activations at run time";
  let description = [{
    Dynamic quantization inside the compiler: every f32 `ds.matmul` whose rhs
    is a constant [K, N] weight (at least `min-weights` elements) gets int8
    weights, quantized here symmetrically (scale = max |w| / 127, codes in
    [-127, 127]; one scale per output column with `per-column`, the
    default, else one for the tensor), and its activation quantized at run
    time by `ds.dynamic_quantize` (u8 with a scale and zero point from the
    tensor's range, ONNX DynamicQuantizeLinear):

    ```mlir
    %y = ds.matmul %x, %w : (tensor<4x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
    // becomes
    %q, %sx, %zx = ds.dynamic_quantize %x : (tensor<4x64xf32>) -> (tensor<4x64xui8>, tensor<f32>, tensor<ui8>)
    %i = ds.matmul_integer %q, %wq lhs_zero_point %zx : (tensor<4x64xui8>, tensor<64x32xi8>, tensor<ui8>) -> tensor<4x32xi32>
    %f = ds.cast %i : tensor<4x32xi32> to tensor<4x32xf32>
    %s = ds.binary mul %sx, %sw : (tensor<f32>, tensor<32xf32>) -> tensor<32xf32>
    %y = ds.binary mul %f, %s : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
    ```

    Convolutions with a constant weight (and an f32 bias, if any) become
    `ds.conv_integer` the same way, one weight scale per output channel:
    cast(conv_integer(xq, wq, zx)) * (sx * sw) + bias.

    Activations shared by several ops (Q, K, V) are quantized once.
    Matmuls of two activations (attention scores) stay f32, and so do the
    ops named in `exclude-nodes` (node names, from the op's location). The
    weights shrink 4x.
  }];
  let options = [
    Option<"perColumn", "per-column", "bool", /*default=*/"true",
           "One weight scale per output column (else one per tensor)">,
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"0",
           "Leave matmuls and convolutions with fewer weight elements in f32">,
    ListOption<"excludeNodes", "exclude-nodes", "std::string",
               "Node names whose matmuls and convolutions stay f32">,
  ];
}

def QuantizeWeightsPass : Pass<"ds-quantize-weights", "func::FuncOp"> {
  let summary = "Store matmul weights as int8 / int4, dequantized where they are read";
  let description = [{
    Weight-only quantization, for models whose weights are most of their
    bytes (large decoders): every f32 `ds.matmul` whose rhs is a constant
    [K, N] weight (at least `min-weights` elements; not in `exclude-nodes`)
    gets its weight as `bits`-bit integers (8 or 4), symmetric (scale =
    max |w| / 127 or / 7 over each group, codes in [-127, 127] or [-7, 7]),
    one scale per column (`block-size` 0) or per column and block of
    `block-size` rows, dequantized where the matmul reads it; activations
    stay f32. It is ONNX's (blocked) DequantizeLinear feeding a MatMul, as
    weight-only quantizers write it:

    ```mlir
    %y = ds.matmul %x, %w : (tensor<1x64xf32>, tensor<64x32xf32>) -> tensor<1x32xf32>
    // becomes, with bits=4 block-size=32
    %q = ds.constant ... : tensor<64x32xi4>
    %s = ds.constant ... : tensor<2x32xf32>
    %w = ds.dequantize %q, %s {axis = 0 : i64, block_size = 32 : i64} : (tensor<64x32xi4>, tensor<2x32xf32>) -> tensor<64x32xf32>
    %y = ds.matmul %x, %w : (tensor<1x64xf32>, tensor<64x32xf32>) -> tensor<1x32xf32>
    ```

    On the CPU `ds-fold-weight-dequantize` then makes each such pair one
    `ds.matmul_quantized_weight`, which reads the integers directly. The
    artifact holds one byte per code (4-bit ones too); on CPUs with AVX-512
    (BW / VL) the session packs 4-bit codes two per byte when it loads them.
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"8", "Bits per weight: 8 or 4">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"0",
           "Rows per scale (0: one scale per column)">,
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"0",
           "Leave matmuls with fewer weight elements in f32">,
    ListOption<"excludeNodes", "exclude-nodes", "std::string",
               "Node names whose matmuls stay f32">,
  ];
}

def FoldWeightDequantizePass : Pass<"ds-fold-weight-dequantize", "func::FuncOp"> {
  let summary = "Make matmuls of dequantized constant weights read the integers";
  let description = [{
    `ds.matmul(x, ds.dequantize(Wq, s[, zp]))` with an f32 activation of
    rank >= 2 and constant 8- or 4-bit [K, N] weights, scales (one, one per
    column on axis 1, or blocks of rows on axis 0) and zero points becomes
    `ds.matmul_quantized_weight(x, Wq, s[, zp])`; the dequantization goes
    when nothing else reads it. Weight-only quantized models (from
    `ds-quantize-weights`, or ONNX models with DequantizeLinear on their
    MatMul weights) then keep their integer weights at run time (4-bit codes
    packed two per byte by the session on AVX-512 CPUs) instead of an f32
    copy made each run. Other scales (per row) and zero points shaped unlike
    their scales are left alone; a dequantization read through a transpose
    (Gemm's transB) arrives here moved after it by `ds-fold-integer-matmul`
    and folded. The CPU pipeline runs it.

    ```mlir
    %w = ds.dequantize %q, %s {axis = 0 : i64, block_size = 32 : i64} : (tensor<64x32xi4>, tensor<2x32xf32>) -> tensor<64x32xf32>
    %y = ds.matmul %x, %w : (tensor<1x64xf32>, tensor<64x32xf32>) -> tensor<1x32xf32>
    // becomes
    %y = ds.matmul_quantized_weight %x, %q, %s {block_size = 32 : i64} : (tensor<1x64xf32>, tensor<64x32xi4>, tensor<2x32xf32>) -> tensor<1x32xf32>
    ```
  }];
}

def InsertAttentionProbesPass : Pass<"ds-insert-attention-probes", "func::FuncOp"> {
  let summary = "Return how much of each head's attention a sparse pattern would keep";
  let description = [{
    The measuring half of choosing dense heads from data (DuoAttention's
    retrieval heads, here picked by measurement instead of training): for
    the n-th `ds.attention` (walk order, as `ds-sparsify-attention`'s
    `dense-heads` counts them) that the pattern would make sparse (causal,
    not sparse already, no block selection) and whose shapes are static,
    the dense probabilities are recomputed from q and k with the op's own
    scale, softcap, mask and diagonal, and the function gets an extra f32
    result `[2, Hq]` named `ds.attention-probe:<n>` (`ds.name`): row 0 sums,
    over batch and queries, the probability mass on the keys the pattern
    (`window` keys ending at the diagonal, `sinks` first keys) keeps; row 1
    the whole mass (1 per query that sees any key). Their ratio, summed
    over calibration samples (`ds-calibrate --attention-window`), is the
    share of each head's attention the pattern keeps. The probabilities are
    materialized, [B, Hq, S, L] floats: a calibration build, not a fast one.
    The model's own results come first and are unchanged; attentions that
    cannot be measured get a remark.

    With `local-blocks`, `stride-blocks` and `global-blocks` (blocks of
    `block-size`) instead of a window, the pattern is the block layout
    `ds-sparsify-attention` would give the attention (the same options,
    the same layout), and encoders (non-causal attention) are measured too;
    the layout's key mask is a constant of S x L booleans (at most 2^26).

    ```mlir
    %o = ds.attention %q, %k, %v {is_causal} : (tensor<1x4x64x16xf32>, ...) -> tensor<1x4x64x16xf32>
    // with window=8 sinks=1: an extra result
    //   tensor<2x4xf32> {ds.name = "ds.attention-probe:0"}
    ```
  }];
  let options = [
    Option<"window", "window", "int64_t", /*default=*/"0",
           "Keys the pattern keeps ending at each query's diagonal (> 0)">,
    Option<"sinks", "sinks", "int64_t", /*default=*/"0",
           "First keys the pattern keeps for every query">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"64",
           "Block layout: queries / keys per block (1 to 1024)">,
    Option<"localBlocks", "local-blocks", "int64_t", /*default=*/"0",
           "Block layout: key blocks ending at each query block's diagonal">,
    Option<"strideBlocks", "stride-blocks", "int64_t", /*default=*/"0",
           "Block layout: every n-th key block back from the diagonal">,
    Option<"globalBlocks", "global-blocks", "int64_t", /*default=*/"0",
           "Block layout: leading key blocks every query sees">,
  ];
}

def InsertCalibrationProbesPass : Pass<"ds-insert-calibration-probes", "func::FuncOp"> {
  let summary = "Return the activations static quantization needs ranges for";
  let description = [{
    The first half of post-training static quantization: the activation of
    every matmul and convolution `ds-quantize-static` would quantize (f32, a
    constant weight) becomes an extra result of the function, named
    `ds.calibration:<key>` (`ds.name`), where the key is the op's node name
    (`#n` appended for the n-th later op of the same kind and name). Running
    the artifact on calibration data (`ds-calibrate`, Python
    `ds.calibrate`) then sees each activation and writes its range to a
    calibration table under that key. The model's own results come first and
    are unchanged.

    ```mlir
    func.func @main(%x: tensor<4x64xf32>) -> tensor<4x32xf32> {
      %y = ds.matmul %x, %w loc("fc")
      return %y
    // becomes
    func.func @main(%x: tensor<4x64xf32>) -> (tensor<4x32xf32>, tensor<4x64xf32> {ds.name = "ds.calibration:fc"})
      return %y, %x
    ```
  }];
}

def InsertPrecisionProbesPass : Pass<"ds-insert-precision-probes", "func::FuncOp"> {
  let summary = "Run each op mixed precision may lower again in the low type, for calibration";
  let description = [{
    The calibration run of `ds-assign-precision policy=auto`: every op of
    the function's block that the default policy may run in the low type and
    that computes (contractions, attention, elementwise and window ops, rotary
    embeddings and scatters that add or multiply, with an f32 result; other
    data movement is exact) is cloned right after itself with its f32
    operands cast to `type` (fp16 or bf16; constants converted as the compile
    converts them, clamped to the type's range) and its f32 results in that
    type. Comparisons and arg reductions follow their inputs unmeasured
    (their results are not floats to compare). Both results
    become extra results of the function, the op's own as
    `ds.precision:<r>:<key>` and the low one, cast back to f32, as
    `ds.precision-<type>:<r>:<key>`, where r is the result's number and the
    key is the op's node name (`#n` appended for the n-th later op of the
    same name). Running the artifact on calibration data (`ds-calibrate
    --precision=fp16`, Python `ds.calibrate(precision=...)`) compares the
    two: the error is the op's own, on the inputs of the fp32 run, so
    nothing upstream is counted twice. The model's own results come first
    and are unchanged.

    ```mlir
    %y = ds.matmul %x, %w loc("fc") : tensor<4x64xf32>, tensor<64x32xf32> -> tensor<4x32xf32>
    // becomes, with the function returning %y and %y16 as well
    %y = ds.matmul %x, %w loc("fc")
    %x16 = ds.cast %x : tensor<4x64xf32> -> tensor<4x64xf16>
    %w16 = ds.cast %w : tensor<64x32xf32> -> tensor<64x32xf16>
    %s = ds.matmul %x16, %w16 loc("fc") : ... -> tensor<4x32xf16>
    %y16 = ds.cast %s : tensor<4x32xf16> -> tensor<4x32xf32>
    ```
  }];
  let options = [
    Option<"type", "type", "std::string", /*default=*/"\"fp16\"",
           "The low type measured: fp16 or bf16">,
  ];
}

def SmoothQuantPass : Pass<"ds-smooth-quant", "func::FuncOp"> {
  let summary = "SmoothQuant: move activation outliers into the weights, exactly";
  let description = [{
    SmoothQuant (Xiao et al., 2023) before static quantization: activations
    have a few channels with large values that a per-tensor activation scale
    cannot represent well, weights do not. For every matmul static
    quantization would quantize, each input channel j gets a factor

      s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)

    from the channel's largest activation (the calibration table's `absmax`
    line) and the largest weight of row j, over every matmul reading the
    activation (Q, K and V share theirs); the activation is divided by s and
    the weight rows multiplied by it. Each s_j is rounded to a power of two,
    so both products are exact: the model's fp32 results do not change at
    all, only what quantization sees.

    ```mlir
    %y = ds.matmul %x, %w
    // becomes
    %xs = ds.binary mul %x, %inv_s : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
    %y = ds.matmul %xs, %w_times_s
    ```

    `alpha` (0 takes the table's `smooth-quant=` value; a table without one
    leaves the function alone) sets how much of the activation's range moves
    into the weights. The calibration tools (`ds-calibrate --smooth-quant`,
    `ds.calibrate(smooth_quant=)`) calibrate twice: channel statistics, then
    the ranges of the smoothed activations.
  }];
  let options = [
    Option<"table", "table", "std::string", /*default=*/"",
           "Calibration table with per-channel statistics (absmax lines)">,
    Option<"alpha", "alpha", "double", /*default=*/"0.0",
           "Migration strength in (0, 1]; 0 takes the table's">,
  ];
}

def QuantizeStaticPass : Pass<"ds-quantize-static", "func::FuncOp"> {
  let summary = "Quantize matmuls and convolutions to int8 with calibrated activation ranges";
  let description = [{
    Post-training static quantization: every matmul `ds-quantize-dynamic`
    would quantize gets int8 weights, quantized here the same way
    (symmetric, per output column with `per-column`), every f32 convolution
    with a constant weight int8 weights per output channel (a
    `ds.conv_integer`, scaled per channel, bias added after), and the
    activation of each quantized to u8 with the fixed scale and zero point of the range the
    calibration table (`table`, written by `ds-calibrate` or
    `ds.calibrate`) holds for it: scale = (hi - lo) / 255, zero point =
    round(-lo / scale). Unlike dynamic quantization nothing scans the
    activation at run time, and the `ds.quantize` fuses into the op that
    produces it.

    ```mlir
    %y = ds.matmul %x, %w : (tensor<4x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
    // with "-1.5 2.5 fc" in the table becomes
    %q = ds.quantize %x, %sx, %zx : (tensor<4x64xf32>, tensor<f32>, tensor<ui8>) -> tensor<4x64xui8>
    %i = ds.matmul_integer %q, %wq lhs_zero_point %zx : (tensor<4x64xui8>, tensor<64x32xi8>, tensor<ui8>) -> tensor<4x32xi32>
    %f = ds.cast %i : tensor<4x32xi32> to tensor<4x32xf32>
    %y = ds.binary mul %f, %s : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
    ```

    An activation several ops read is quantized once, over the union of
    their ranges. An op the table has no range for stays f32 with a warning
    (a table from another model); an unreadable table is an error.
  }];
  let options = [
    Option<"table", "table", "std::string", /*default=*/"",
           "Calibration table (ds-calibrate's output)">,
    Option<"perColumn", "per-column", "bool", /*default=*/"true",
           "One weight scale per output column (else one per tensor)">,
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"0",
           "Leave matmuls with fewer weight elements in f32">,
    ListOption<"excludeNodes", "exclude-nodes", "std::string",
               "Node names whose matmuls stay f32">,
  ];
}

def AssignPrecisionPass : Pass<"ds-assign-precision", "ModuleOp"> {
  let summary = "Run contractions and attention in fp16, bf16 or fp8, keep sensitive ops in fp32";
  let description = [{
    Mixed precision as automatic-mixed-precision practice assigns it, decided
    per op from its class (DS_OpClass):

    - low precision: contractions (`ds.matmul`, `ds.einsum`, `ds.conv`,
      `ds.conv_transpose`) and `ds.attention`;
    - fp32: reductions (`ds.softmax`, `ds.norm`, `ds.reduce`), `ds.cumsum`,
      `ds.topk`, the unary kinds whose range or error explodes in 16 bits
      (exp, log, reciprocal, softplus, cosh, sinh, tan, acos, asin), binary
      `pow`, `ds.resize` and `ds.range` (their float operands are parameters,
      not data), casts and the quantization ops;
    - every other op follows its float inputs: it runs in the low type when
      one of them already is and every other one is too or is a constant.

    Only f32 values change type. A cast is inserted where a value crosses
    from one precision to the other, once per value, and a value that is
    itself a cast of the other precision is replaced by its source (so
    pairs cancel and data movement between two low ops stays low). Constants
    read by a low op are converted here, values beyond the type's largest
    finite number clamped to it and counted. With `keep-io-types` (the
    default) each function's signature stays f32; without it, its f32 inputs
    and results take the low type.

    `block-classes` (op class names, e.g. `attention,elementwise`) and
    `block-nodes` (ONNX node names, from the op's location) keep ops in fp32.
    `policy=fp32` leaves the IR unchanged. `report` writes one line per op
    (node, op, precision, why) and a summary to a file (`-`: stdout):

    ```
    fc1 ds.matmul bf16 contraction
    ln ds.norm f32 reduction stays fp32
    precision bf16: 12 ops in bf16, 5 in f32; 4 casts; 3 constants converted (1024 elements, 0 clamped)
    ```

    `policy=auto` lowers what the default policy lowers except the ops a
    calibration run (`ds-insert-precision-probes`, written by `ds-calibrate
    --precision=fp16|bf16` to the precision table `table`) saw overflow the
    low type (a finite fp32 value, a non-finite low one) or miss fp32 by
    more than `error-budget` (||low - fp32|| / ||fp32|| over the samples, the
    op computed on its rounded fp32 inputs; 0 picks 16 unit roundoffs of the
    low type: 7.8e-3 for fp16, 6.25e-2 for bf16). The low type is the
    table's. An op the table does not know is an error (a table of another
    model or other compile flags); the report gives each op's measured error.

    `policy=fp8`: the data operands of contractions and attention (not a
    bias or mask) are rounded to f8E4M3FN with one scale per tensor
    (max |x| / 448), as an fp8 GEMM sees them, and the op computes on the
    rounded values in f32; everything else stays f32. Constant weights are
    stored in fp8 with their scale and dequantized at run time; activations
    take their scale from their own maximum at run time
    (`dequantize(quantize(x, s), s)`). On the CPU this is an emulation: it
    measures fp8's accuracy, not its speed.
  }];
  let options = [
    Option<"policy", "policy", "std::string", /*default=*/"\"fp32\"",
           "Low type: fp32 (no change), fp16, bf16, fp8 (emulated e4m3) or auto "
           "(fp16 / bf16 where calibration allows)">,
    Option<"table", "table", "std::string", /*default=*/"\"\"",
           "policy=auto: the precision table (ds-calibrate --precision)">,
    Option<"errorBudget", "error-budget", "double", /*default=*/"0.0",
           "policy=auto: the largest relative error an op may add (0: 16 unit roundoffs)">,
    Option<"keepIOTypes", "keep-io-types", "bool", /*default=*/"true",
           "Keep the function's f32 inputs and results f32">,
    ListOption<"blockClasses", "block-classes", "std::string",
               "Op classes that stay in fp32">,
    ListOption<"blockNodes", "block-nodes", "std::string",
               "Node names (op locations) that stay in fp32">,
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "Write the per-op report here ('-' = stdout)">,
  ];
}

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

def PromoteParametersPass : Pass<"ds-promote-parameters", "ModuleOp"> {
  let summary = "Make a model's trainable constants arguments that default to their values";
  let description = [{
    The first step of a gradient compile, right after import: each parameter
    (the float constants named in `parameters`, or every float constant of
    two or more elements with a use gradients flow through) becomes an
    argument of `@main` named as its initializer (`ds.name`), defaulting to
    its value (`ds.default`) and marked `ds.parameter`, which ds-autodiff
    differentiates against. Done before canonicalization and CSE, which
    would otherwise fold parameters into other constants or merge equal ones
    (a fresh model's LayerNorm weights are all ones) into one.
  }];
  let options = [
    ListOption<"parameters", "parameters", "std::string",
               "Initializers to train (default: every float constant of two or more elements)">,
  ];
}

def AutodiffPass : Pass<"ds-autodiff", "ModuleOp"> {
  let summary = "Turn @main into the gradient of its loss with respect to its parameters";
  let description = [{
    Reverse-mode differentiation of `@main` with respect to the arguments
    ds-promote-parameters marked; without any, the parameters (float
    constants of two or more elements that feed an operand gradients flow
    through: not only shapes, indices, conditions, resize scales,
    quantization parameters or rotary position caches; or the initializers
    named in `parameters`) are promoted here first: they become arguments that default to
    their current values (`ds.default`), named as the initializers; `@main`
    then returns the loss and, for each parameter in order, its gradient
    named `<parameter>.grad`. A caller that feeds no parameters gets the
    gradient at the model's own weights; one that feeds updated values gets
    it there.

    The loss is the output named `loss` (or the only one-element float
    output), or, with `loss-function`, a standard loss appended to the
    output named `loss` (or the only output): `mse`, the mean squared
    difference from a new input `target` of the output's type;
    `cross-entropy`, the mean negative log-softmax of the logits (last dim:
    classes) at the class ids of a new int64 input `labels`. With
    `scale-loss`, the gradients are those of loss × `loss_scale` (a new f32
    input, default 1), so fp16 gradients stay clear of the subnormals;
    ds-optimizer-step divides them back and skips a step whose gradients
    are not finite.

    Fake quantization (`dequantize(quantize(x))`) passes the clipped
    straight-through estimator to x; a scale that is a parameter learns its
    step size (LSQ). With `lsq-grad-scale` its gradient is multiplied by
    1/sqrt(N·Qp), LSQ's gradient scale (N: the elements of x per scale
    value, so one channel's for per-channel scales; Qp: the largest integer
    the range allows), as PyTorch's learnable fake quantization with that
    `grad_factor`; x's shape must be static.

    The backward ops are vector-Jacobian products from one table of rules
    (lib/Dialect/DS/Transforms/GradientRules.cpp): unary (neg, exp, log,
    sqrt, reciprocal, tanh, sigmoid, relu, abs, erf, gelu, gelu_tanh), binary (add,
    sub, mul, div, pow, with broadcasting), matmul, convolution (one group),
    reduce sum / mean,
    softmax and log-softmax, layer and RMS normalization, reshape,
    transpose, expand, slice, concat, select, float casts, embedding gathers,
    attention (probabilities recomputed) and rotary embeddings. An op on a
    path from a parameter to the loss without a rule is an error naming it.
    With `fused-attention-grad` (the default), ds.attention's backward is one
    `ds.attention_grad`, whose kernel recomputes the probabilities tile by
    tile and never holds them whole; where a mask's own gradient is wanted
    (a mask computed from parameters) it is composed of ds ops.
    Shapes must be static. Run it before fusion (fusion groups have no
    rules) and after attention raising, so that attention's backward is the
    fused op (the compile pipeline does both, with `gradients=true`).
  }];
  let options = [
    Option<"loss", "loss", "std::string", /*default=*/"\"\"",
           "Name of the output to differentiate ('': the only one-element float output), or that a standard loss-function compares">,
    Option<"lossFunction", "loss-function", "std::string", /*default=*/"\"\"",
           "'' (the output is the loss), mse (against a new input 'target') or cross-entropy (logits against a new input 'labels', int64 class ids)">,
    ListOption<"parameters", "parameters", "std::string",
               "Initializers to differentiate against (default: every float constant of two or more elements)">,
    Option<"scaleLoss", "scale-loss", "bool", /*default=*/"false",
           "Differentiate loss × a new input 'loss_scale' (dynamic loss scaling for fp16)">,
    Option<"lsqGradScale", "lsq-grad-scale", "bool", /*default=*/"false",
           "Scale learned quantization step sizes' gradients by 1/sqrt(N·Qp) (LSQ)">,
    Option<"fusedAttentionGrad", "fused-attention-grad", "bool", /*default=*/"true",
           "ds.attention's backward as one ds.attention_grad (a CPU kernel); false: composed of matmuls and a softmax, for backends without it">,
  ];
}

def OptimizerStepPass : Pass<"ds-optimizer-step", "ModuleOp"> {
  let summary = "Turn a gradient program into one training step: new parameters and optimizer state";
  let description = [{
    Runs on ds-autodiff's output (results `loss` and `<p>.grad` for inputs
    `<p>`) and replaces each gradient with the parameter's next value,
    `<p>.next`, and the optimizer's state after the step:

    - `sgd`: p ← p − lr·(g + wd·p), or with `momentum` μ > 0, as PyTorch's
      SGD: b ← μ·b + (g + wd·p), p ← p − lr·b; state input `<p>.momentum`
      (result `<p>.momentum.next`);
    - `adamw`: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
      p ← p·(1 − lr·wd) − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε), as PyTorch's
      AdamW; state inputs `<p>.adam_m`, `<p>.adam_v` and the step number
      `step` (t, counted from 1).

    The learning rate is an input, `learning_rate`, defaulting to `lr`, so a
    schedule changes it per step without a new compile; state inputs
    default to zeros and `step` to 1. A caller feeds each `X.next` result
    back as input `X` for the next step (ds.TrainingSession does).

    When the program has a `loss_scale` input (ds-autodiff's `scale-loss`),
    the gradients are divided by it first, and a result `grads_finite`
    (f32: 1 or 0) says whether every gradient is finite; when one is not,
    every `.next` result is its input unchanged (the step is skipped) and
    the caller lowers the scale.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"sgd\"", "sgd or adamw">,
    Option<"lr", "lr", "double", /*default=*/"0.01", "Default learning rate">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0", "SGD momentum">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW β1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "AdamW β2">,
    Option<"epsilon", "epsilon", "double", /*default=*/"1e-8", "AdamW ε">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "Weight decay (decoupled for AdamW, added to the gradient for SGD)">,
  ];
}

def RematerializePass : Pass<"ds-rematerialize", "ModuleOp"> {
  let summary = "Recompute values near their uses instead of keeping them alive, under a memory budget";
  let description = [{
    Lowers the peak bytes of `@main`'s intermediates (as the memory analysis
    counts them) by trading compute for memory. First the steps are
    reordered: a list scheduler runs the ready op that frees the most bytes
    first (kept only if the peak drops). Then values alive across the peak
    step, and not read there, are dropped after their last earlier use and
    recomputed (their producers cloned) right before their first later use;
    inputs of a recomputation that are dead by then are recomputed too, back
    to values still alive, arguments and constants. Strategies:

    - `greedy`: repeatedly drop the value that lowers the peak most (ties:
      least recomputation), at whichever step is the peak, until the peak
      fits `budget` or nothing lowers it (no budget: as low as it goes);
      when single drops stall above the budget, it starts again from the
      `sqrt` plan and refines that;
    - `sqrt`: Chen et al.'s √n checkpoints: of the k values alive across
      the peak, keep every ⌈√k⌉-th and recompute each run between two kept
      ones together, once;
    - `optimal`: every subset of the values alive across the peak (at most
      14 of them; larger graphs are refused), runs recomputed together as
      in `sqrt`, and the greedy and √n plans: the one that fits the budget
      with the least recomputation (no budget: the lowest peak).

    Ops with side effects and random generators (ops with a `seed`) are
    never recomputed; recomputed ops run the same kernels on the same
    inputs, so outputs are bit-identical. A peak that already fits the
    budget leaves the IR as it is. A budget no strategy reaches is an error
    naming the smallest peak found and a lower bound (the largest step's own
    operands and results). Dynamic dims are refused (the peak is only known
    per input shape). Run before `ds-fuse`: fusion then groups the copies
    with their consumers.
  }];
  let options = [
    Option<"budget", "budget", "std::string", /*default=*/"\"\"",
           "Peak bytes to reach: 1000000, 64KB, 1.5MiB, 2GB ('': none)">,
    Option<"strategy", "strategy", "std::string", /*default=*/"\"greedy\"",
           "greedy, sqrt or optimal">,
    Option<"schedule", "schedule", "bool", /*default=*/"true",
           "Reorder independent ops to lower the peak first">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Remark the peak before and after, the ops recomputed and their FLOPs">,
  ];
}

def FusePass : Pass<"ds-fuse", "func::FuncOp"> {
  let summary = "Group ds ops into ds.fusion_group ops, one per backend kernel";
  let description = [{
    Walks each block in order and grows groups greedily (no recursion, linear
    in the number of ops and uses):

    - elementwise chains (`ds.unary`, `ds.binary`, `ds.compare`, `ds.select`,
      `ds.cast`, and `ds.quantize` / `ds.dequantize` with one scale, not
      per axis or blocked) whose results have the group's shape; smaller
      operands broadcast in; sibling chains of the same shape merge at the
      op that combines them;
    - reductions (`ds.softmax`, `ds.norm`, `ds.reduce`) with their elementwise
      producers and the elementwise consumers of their output shape;
    - contractions (`ds.matmul`, `ds.conv`, `ds.conv_transpose`, `ds.einsum`,
      `ds.matmul_integer`, `ds.conv_integer`) with an elementwise epilogue of
      their output shape (bias, activation, residual add, scale, and a QDQ
      model's requantization: the CPU runs an integer convolution's as it
      stores its sums);
    - one `ds.attention` per group;
    - every other op in a single-op group (`data_movement`, or `reduction`
      for pool / arg_reduce / topk / cumsum).

    Each group is placed where its last op was. A group stops growing once
    one of its values is used by an op outside it (the group could no longer
    be placed before that user), so groups never form a cycle. A value used
    inside and after the group becomes an extra result. Shapes must be
    equal, a `?` dim matching only a `?` at the same place; since two `?`
    may still differ at run time, a backend checks the bound sizes before
    it runs a dynamic group as one kernel (the CPU runtime otherwise runs
    its ops one by one). Constants are group inputs, except splats, tensors of at most one
    element and integer tensors of at most 64 elements (shape parameters),
    which are cloned into the body.

    `explain` reports every decision as a remark at the op (which group it
    joined and why, or why it did not join a producer's group); the same
    lines go to `--debug-only=ds-fuse` in builds with assertions.

    ```mlir
    %r = ds.fusion_group contraction (%x, %w, %b) : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x16xf32> {
    ^bb0(%a: tensor<4x8xf32>, %c: tensor<8x16xf32>, %d: tensor<16xf32>):
      %0 = ds.matmul %a, %c : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
      %1 = ds.binary add %0, %d : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
      %2 = ds.unary relu %1 : (tensor<4x16xf32>) -> tensor<4x16xf32>
      ds.yield %2 : tensor<4x16xf32>
    }
    ```
  }];
  let options = [
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Report each fusion decision as a remark at the op">,
  ];
  let statistics = [
    Statistic<"numGroups", "groups", "Fusion groups created">,
    Statistic<"numFusedOps", "fused-ops", "Ops that share a group with another op">,
  ];
}

#endif // DS_DIALECT_DS_TRANSFORMS_PASSES_TD
