//===- ModelRewritePasses.td - attention and GELU rewrites -*- tablegen -*-===//
//
// Model rewrites: attention raised and sparsified, GELU composed. Included by
// Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_TRANSFORMS_MODELREWRITEPASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_MODELREWRITEPASSES_TD

include "mlir/Pass/PassBase.td"

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

#endif // DS_DIALECT_DS_TRANSFORMS_MODELREWRITEPASSES_TD
