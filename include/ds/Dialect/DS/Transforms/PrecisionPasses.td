//===- PrecisionPasses.td - quantization and precision -----*- tablegen -*-===//
//
// Quantization and mixed precision. Included by Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_PRECISIONPASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_PRECISIONPASSES_TD

include "mlir/Pass/PassBase.td"

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
    type. With `type=fp8` the probes are the ops `ds-assign-precision
    policy=fp8` rounds (contractions and attention whose data operands are
    f32): each is cloned on those operands rounded as that policy rounds
    them (`dequantize(quantize(x, s), s)` with s = max |x| / 448, a
    constant's scale computed here), its result f32 already (no cast back). Comparisons and arg reductions follow their inputs unmeasured
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
           "The low type measured: fp16, bf16 or fp8 (emulated e4m3)">,
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
    their ranges. When that activation is a max pool's result nothing else
    reads, of an input nothing else reads, the pool's input is quantized
    instead and the pool runs on the
    u8 values (quantizing is non-decreasing, so it commutes with max;
    `PoolOp::isMaxOverInputsOnly` says when every window holds an input),
    and the op producing the pool's input stores u8, not f32. The results
    differ only where a window holds a NaN (f32 pools it to NaN, which
    quantizes to the zero point; the u8 pool keeps the larger of the zero
    point and the window's other values). An op the table has no range for stays f32 with a warning
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
    --precision=fp16|bf16|fp8` to the precision table `table`) saw overflow
    the low type (a finite fp32 value, a non-finite low one) or miss fp32 by
    more than `error-budget` (||low - fp32|| / ||fp32|| over the samples, the
    op computed on its rounded fp32 inputs; 0 picks 16 unit roundoffs of the
    low type: 7.8e-3 for fp16, 6.25e-2 for bf16; 0.08 for fp8, about twice
    what an fp8 GEMM on well-spread operands misses by). The low type is the
    table's; on an fp8 table the policy is `fp8`'s for the contractions and
    attention ops within the budget, and they alone are looked up (one the
    calibration cannot name, with a float operand of another type or inside
    a region, is rounded as `policy=fp8` rounds it, unmeasured, as fp16's
    auto lowers such ops by class). An op the table does not know is an error (a table of another
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

#endif // DS_DIALECT_DS_TRANSFORMS_PRECISIONPASSES_TD
