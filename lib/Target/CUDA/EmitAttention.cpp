//===- EmitAttention.cpp - flash attention per attention group -----------===//
//
// Instantiates ds_attention::flash_attention (kernels/FlashAttention.cuh),
// for ds.sparse_attention ds_attention::flash_attention_gather
// (kernels/SparseAttention.cuh) and for block selection
// ds_attention::flash_attention_select (kernels/BlockSelectAttention.cuh)
// with a Config struct of this group's shapes and flags.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

static Type elementOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

/// A float literal C++ reads back as the same float.
static std::string floatLiteral(double v) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%.9g", v);
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s + "f";
}

/// The causal diagonal's offset: `offset`, plus keys - queries when counted
/// from the last key (a size program where the lengths are dynamic).
static DimExpr diagonalOffset(int64_t offset, bool fromEnd, Value query, Value key,
                              EmitContext &ctx) {
  DimExpr d = DimExpr::of(offset);
  if (fromEnd)
    d = d + ctx.sizes->dim(key, 2) - ctx.sizes->dim(query, 2);
  return d;
}

/// The group's operands must be its block arguments, q / k / v of one float
/// type with static head counts and head dims.
static LogicalResult checkAttentionOperands(Operation *op, ArrayRef<Value> operands, Value q,
                                            Value k, Value v) {
  for (Value operand : operands)
    if (!isa<BlockArgument>(operand))
      return op->emitError("cuda: attention with fused producers is not supported");
  if (shapeOf(q).size() != 4 || shapeOf(k).size() != 4 || shapeOf(v).size() != 4)
    return op->emitError("cuda: attention needs 4-D [B, H, S, D] operands");
  Type t = elementOf(q);
  if (!(t.isF32() || t.isF16() || t.isBF16()) || elementOf(k) != t || elementOf(v) != t)
    return op->emitError("cuda: attention needs f32, f16 or bf16 q, k and v of one type, not ")
           << t;
  for (auto [value, axis] : {std::pair{q, 1}, {q, 3}, {k, 1}, {k, 3}, {v, 3}})
    if (ShapedType::isDynamic(shapeOf(value)[axis]))
      return op->emitError("cuda: attention needs static head counts and head dims");
  if (shapeOf(q)[3] > 256 || shapeOf(v)[3] > 256)
    return op->emitError("cuda: attention head dims above 256 are not supported");
  return success();
}

LogicalResult cuda::emitSparseAttention(FusionGroupOp group, SparseAttentionOp op,
                                        const std::string &name, EmitContext &ctx) {
  auto yield = cast<YieldOp>(group.getBody().front().getTerminator());
  if (yield.getValues().size() != 1 || yield.getValues()[0] != op.getResult())
    return group.emitError("cuda: an attention group must yield exactly its ds.sparse_attention");
  // Small constant lists (ds-fuse clones them into the group) are a table.
  ConstantOp constantIndices = op.getIndices().getDefiningOp<ConstantOp>();
  SmallVector<Value> operands{op.getQuery(), op.getKey(), op.getValue()};
  if (!constantIndices)
    operands.push_back(op.getIndices());
  if (failed(checkAttentionOperands(op, operands, op.getQuery(), op.getKey(), op.getValue())))
    return failure();
  ArrayRef<int64_t> q = shapeOf(op.getQuery()), k = shapeOf(op.getKey()), v = shapeOf(op.getValue());
  ArrayRef<int64_t> idx = shapeOf(op.getIndices());
  if (idx.size() != 4 || ShapedType::isDynamic(idx[1]) || ShapedType::isDynamic(idx[3]))
    return op.emitError("cuda: sparse attention needs [B, 1 or H, S, K] indices with static "
                        "heads and K");
  // Per warp (one query): 32 gathered key rows, the query, the sorted list.
  int64_t kpad = 32;
  while (kpad < idx[3])
    kpad *= 2;
  constexpr int64_t warps = 4; // DS_SPARSE_WARPS
  const int64_t sharedBytes = warps * (32 * (q[3] + 1) + q[3] + kpad) * 4;
  constexpr int64_t kSharedLimit = 163 * 1024; // what an sm_80 block may opt into (sm_90: 227 KiB)
  if (sharedBytes > kSharedLimit)
    return op.emitError("cuda: sparse attention over lists of ")
           << idx[3] << " keys at head dim " << q[3] << " needs " << sharedBytes
           << " bytes of shared memory per block, more than the " << kSharedLimit
           << " a block can have";

  KernelWriter w(group, name, *ctx.sizes);
  Dims qd = w.dims(op.getQuery()), kd = w.dims(op.getKey());
  DimExpr offset = diagonalOffset((int64_t)op.getCausalOffset(), op.getCausalFromEnd(),
                                  op.getQuery(), op.getKey(), ctx);
  double scale = op.getScale() ? op.getScale()->convertToDouble() : 1.0 / std::sqrt((double)q[3]);
  std::string cfg = name + "_config";
  std::string config;
  llvm::raw_string_ostream c(config);
  c << "struct " << cfg << " {\n"
    << "  static constexpr int HQ = " << q[1] << ", HKV = " << k[1] << ", HI = " << idx[1]
    << ", D = " << q[3] << ", DV = " << v[3] << ";\n"
    << "  static constexpr int K = " << idx[3] << ", KPAD = " << kpad << ";\n"
    << "  static constexpr bool IDX_SPLAT = "
    << (constantIndices && isa<SplatElementsAttr>(constantIndices.getValue()) ? "true" : "false")
    << ";\n"
    << "  static constexpr float SCALE = " << floatLiteral(scale) << ";\n"
    << "  static constexpr bool CAUSAL = " << (op.getIsCausal() ? "true" : "false") << ";\n"
    << "  int S, L, CAUSAL_OFFSET;\n"
    << "};\n";
  std::string qn = w.inputParam(cast<BlockArgument>(op.getQuery()));
  std::string kn = w.inputParam(cast<BlockArgument>(op.getKey()));
  std::string vn = w.inputParam(cast<BlockArgument>(op.getValue()));
  std::string in;
  if (constantIndices) {
    FailureOr<std::string> table = w.tableOf(constantIndices);
    if (failed(table))
      return failure();
    in = *table;
  } else {
    in = w.inputParam(cast<BlockArgument>(op.getIndices()));
  }
  w.line() << "// sparse attention: " << qd[0] << "x" << q[1] << " heads of " << qd[2]
           << " queries, each over " << idx[3] << " listed of " << kd[2] << " keys\n";
  w.line() << "const " << cfg << " cfg{(int)" << qd[2] << ", (int)" << kd[2] << ", (int)"
           << formC(offset) << "};\n";
  w.line() << "ds_attention::flash_attention_gather<" << *storageType(elementOf(op.getQuery()))
           << ", " << cfg << ">(" << qn << ", " << kn << ", " << vn << ", " << in << ", "
           << w.outputParam(0) << ", cfg);\n";
  ctx.source += config + w.globals + w.finish("__launch_bounds__(128)") + "\n";
  ctx.steps.push_back(w.launchStep({ctx.sizes->size(op.getQuery(), 2).ceilDiv(warps),
                                    Size::of(q[1]), ctx.sizes->size(op.getQuery(), 0)},
                                   {warps * 32, 1, 1}, sharedBytes));
  ++ctx.kernels;
  return success();
}

namespace {
/// What the flash kernels need of ds.attention / ds.block_sparse_attention.
struct FlashAttentionParts {
  Operation *op;
  Value query, key, value, mask, layout; // mask, layout: optional
  std::optional<double> scale;
  bool causal, causalFromEnd;
  int64_t causalOffset, window = 0, sinks = 0, layoutBlock = 0;
  double softcap = 0.0;
};
} // namespace

static LogicalResult emitFlashAttention(FusionGroupOp group, const FlashAttentionParts &op,
                                        const std::string &name, EmitContext &ctx);

static LogicalResult emitBlockSelectAttention(FusionGroupOp group, AttentionOp op,
                                              const std::string &name, EmitContext &ctx);

LogicalResult cuda::emitAttention(FusionGroupOp group, AttentionOp op, const std::string &name,
                                  EmitContext &ctx) {
  if (op.getSelectBlocks())
    return emitBlockSelectAttention(group, op, name, ctx);
  FlashAttentionParts parts{op, op.getQuery(), op.getKey(), op.getValue(), op.getMask(), Value(),
                            std::nullopt, op.getIsCausal(), op.getCausalFromEnd(),
                            (int64_t)op.getCausalOffset(), (int64_t)op.getWindow(),
                            (int64_t)op.getSinkTokens(), 0, op.getSoftcap().convertToDouble()};
  if (op.getScale())
    parts.scale = op.getScale()->convertToDouble();
  return emitFlashAttention(group, parts, name, ctx);
}

LogicalResult cuda::emitBlockSparseAttention(FusionGroupOp group, BlockSparseAttentionOp op,
                                             const std::string &name, EmitContext &ctx) {
  FlashAttentionParts parts{op, op.getQuery(), op.getKey(), op.getValue(), op.getMask(),
                            op.getLayout(), std::nullopt, op.getIsCausal(),
                            op.getCausalFromEnd(), (int64_t)op.getCausalOffset()};
  parts.layoutBlock = (int64_t)op.getBlockSize();
  if (op.getScale())
    parts.scale = op.getScale()->convertToDouble();
  return emitFlashAttention(group, parts, name, ctx);
}

static LogicalResult emitFlashAttention(FusionGroupOp group, const FlashAttentionParts &op,
                                        const std::string &name, EmitContext &ctx) {
  auto yield = cast<YieldOp>(group.getBody().front().getTerminator());
  if (yield.getValues().size() != 1 || yield.getValues()[0] != op.op->getResult(0))
    return group.emitError("cuda: an attention group must yield exactly its ")
           << op.op->getName();
  // A mask or a layout may be a constant cloned into the group (a score_mod
  // bias, a small pattern): the kernel reads it from a table.
  ConstantOp constantMask = op.mask ? op.mask.getDefiningOp<ConstantOp>() : nullptr;
  ConstantOp constantLayout = op.layout ? op.layout.getDefiningOp<ConstantOp>() : nullptr;
  SmallVector<Value> operands{op.query, op.key, op.value};
  if (op.mask && !constantMask)
    operands.push_back(op.mask);
  if (op.layout && !constantLayout)
    operands.push_back(op.layout);
  if (failed(checkAttentionOperands(op.op, operands, op.query, op.key, op.value)))
    return failure();
  ArrayRef<int64_t> q = shapeOf(op.query), k = shapeOf(op.key), v = shapeOf(op.value);
  Type t = elementOf(op.query);

  // Mask: bool keeps, float adds; broadcast to [B, Hq, S, L] by strides.
  KernelWriter w(group, name, *ctx.sizes);
  Dims qd = w.dims(op.query), kd = w.dims(op.key);
  int maskKind = 0;
  std::string maskType = "float";
  std::string ms[4] = {"0", "0", "0", "0"};
  if (Value mask = op.mask) {
    Type mt = elementOf(mask);
    if (mt.isInteger(1)) maskKind = 1;
    else if (mt.isF32() || mt.isF16() || mt.isBF16()) maskKind = 2;
    else return op.op->emitError("cuda: attention mask of type ") << mt << " is not supported";
    maskType = constantMask ? computeType(mt) : *storageType(mt);
    Dims m = w.dims(mask);
    Dims strides = stridesOf(m);
    // A splat table holds one element: every dim is read at index 0.
    auto splat = constantMask ? dyn_cast<SplatElementsAttr>(constantMask.getValue()) : nullptr;
    if (splat)
      strides.assign(m.size(), "0");
    std::string full[4] = {qd[0], qd[1], qd[2], kd[2]};
    for (size_t d = 0; d < m.size(); ++d) {
      size_t to = 4 - m.size() + d;
      if (isOne(m[d]))
        ms[to] = isOne(full[to]) ? strides[d] : "0";
      else if (m[d] == full[to])
        ms[to] = strides[d];
      else // a static dim against a dynamic one, or two unrelated sizes
        return op.op->emitError("cuda: cannot prove that dim ")
               << d << " of the attention mask is 1 or the scores' (" << m[d] << " against "
               << full[to] << "); bind the dynamic dims with --ds-input-shape";
    }
  }
  DimExpr offset = diagonalOffset(op.causalOffset, op.causalFromEnd, op.query, op.key, ctx);
  std::string causalOffset = formC(offset);
  double scale = op.scale ? *op.scale : 1.0 / std::sqrt((double)q[3]);
  std::string type = *storageType(t);
  // A block layout [1 or HQ, query blocks, key blocks] (i1), with static
  // dims (the kernel trusts them); a splat constant is a table of one.
  int64_t layoutHeads = op.layout ? shapeOf(op.layout)[0] : 1;
  if (op.layout && !cast<RankedTensorType>(op.layout.getType()).hasStaticShape())
    return op.op->emitError("cuda: a block layout needs static dims");
  bool layoutSplat =
      constantLayout && isa<SplatElementsAttr>(constantLayout.getValue());
  std::string cfg = name + "_config";
  std::string config;
  llvm::raw_string_ostream c(config);
  c << "struct " << cfg << " {\n"
    << "  static constexpr int HQ = " << q[1] << ", HKV = " << k[1] << ", D = " << q[3]
    << ", DV = " << v[3] << ";\n"
    << "  static constexpr float SCALE = " << floatLiteral(scale)
    << ", SOFTCAP = " << floatLiteral(op.softcap) << ";\n"
    << "  static constexpr bool CAUSAL = " << (op.causal ? "true" : "false") << ";\n"
    // Positions are ints in the kernels: a window or sink count past them
    // hides nothing more than 2^31 - 1 does.
    << "  static constexpr int WINDOW = " << std::min<int64_t>(op.window, INT32_MAX)
    << ", SINKS = " << std::min<int64_t>(op.sinks, INT32_MAX) << ";\n"
    << "  static constexpr int MASK = " << maskKind << ";\n"
    << "  static constexpr int LAYOUT_BLOCK = " << op.layoutBlock
    << ", LAYOUT_HEADS = " << layoutHeads << ";\n"
    << "  static constexpr bool LAYOUT_SPLAT = " << (layoutSplat ? "true" : "false") << ";\n"
    << "  int S, L, CAUSAL_OFFSET;\n"
    << "  long long MB, MH, MS, ML;\n"
    << "  const bool *LAYOUT;\n"
    << "};\n";
  // Parameters: q, k, v, mask (absent: nullptr), layout (absent: nullptr), out.
  std::string qn = w.inputParam(cast<BlockArgument>(op.query));
  std::string kn = w.inputParam(cast<BlockArgument>(op.key));
  std::string vn = w.inputParam(cast<BlockArgument>(op.value));
  std::string mn = "(const float *)nullptr";
  if (constantMask) {
    FailureOr<std::string> table = w.tableOf(constantMask);
    if (failed(table))
      return failure();
    mn = *table;
  } else if (op.mask) {
    mn = w.inputParam(cast<BlockArgument>(op.mask));
  }
  std::string ln = "(const bool *)nullptr";
  if (constantLayout) {
    FailureOr<std::string> table = w.tableOf(constantLayout);
    if (failed(table))
      return failure();
    ln = *table;
  } else if (op.layout) {
    ln = w.inputParam(cast<BlockArgument>(op.layout));
  }
  w.line() << "// flash attention: " << qd[0] << "x" << q[1] << " heads of " << qd[2]
           << " queries x " << kd[2] << " keys, head dim " << q[3] << "\n";
  w.line() << "const " << cfg << " cfg{(int)" << qd[2] << ", (int)" << kd[2] << ", (int)"
           << causalOffset << ", " << ms[0] << ", " << ms[1] << ", " << ms[2] << ", " << ms[3]
           << ", " << ln
           << "};\n";
  // Tensor cores (mma.sync m16n8k16) for fp16 / bf16 when the head dims are multiples of 16 and
  // the tiles fit shared memory; the FMA kernel otherwise. With a block
  // layout the tensor-core kernel lists the kept key tiles in shared memory
  // (an int per 64-key tile, and the count): it needs a static key length
  // and room for the list (the FMA kernel's shared memory does not grow with L).
  constexpr int64_t kSharedLimit = 163 * 1024; // what an sm_80 block may opt into
  const int64_t mmaBytes = (2 * 64 * (q[3] + 8) + 2 * 64 * (v[3] + 8)) * 2 +
                           (op.layout ? 4 * ((k[2] + 63) / 64 + 1) : 0);
  bool mma = !t.isF32() && q[3] % 16 == 0 && v[3] % 16 == 0 && q[3] <= 128 && v[3] <= 128 &&
             (!op.layout || (!ShapedType::isDynamic(k[2]) && mmaBytes <= kSharedLimit));
  w.line() << "ds_attention::flash_attention" << (mma ? "_mma<" : "<") << type << ", " << maskType
           << ", " << cfg << ">(" << qn << ", " << kn << ", " << vn << ", " << mn << ", "
           << w.outputParam(0) << ", cfg);\n";

  // Rows per block and shared bytes as FlashAttention.cuh lays them out.
  int64_t rowsPerBlock, sharedBytes;
  if (mma) {
    // DS_ATTN_MMA_ROWS = 64 query rows; two buffers of DS_ATTN_MMA_BK = 64 keys
    // and values (the Q tile borrows one), rows padded by DS_ATTN_MMA_PAD = 8
    // elements of 2 bytes.
    rowsPerBlock = 64;
    sharedBytes = mmaBytes;
  } else {
    rowsPerBlock = 16; // DS_ATTN_WARPS * DS_ATTN_ROWS; tiles of DS_ATTN_BK = 32 keys
    sharedBytes = (32 * (q[3] + 1) + 32 * v[3] + rowsPerBlock * q[3] + 1) * 4;
  }
  ctx.source += config + w.globals + w.finish("__launch_bounds__(128)") + "\n";
  ArtifactStep step = w.launchStep({ctx.sizes->size(op.query, 2).ceilDiv(rowsPerBlock),
                                    Size::of(q[1]), ctx.sizes->size(op.query, 0)},
                                   {128, 1, 1}, sharedBytes);
  ctx.steps.push_back(std::move(step));
  ++ctx.kernels;
  return success();
}

/// ds.attention with select_blocks: kernels/BlockSelectAttention.cuh, one
/// thread block per query block of `block_size` rows and head.
static LogicalResult emitBlockSelectAttention(FusionGroupOp group, AttentionOp op,
                                              const std::string &name, EmitContext &ctx) {
  auto yield = cast<YieldOp>(group.getBody().front().getTerminator());
  if (yield.getValues().size() != 1 || yield.getValues()[0] != op.getResult())
    return group.emitError("cuda: an attention group must yield exactly its ds.attention");
  if (op.getMask())
    return op.emitError("cuda: block selection (select_blocks) with a mask has no CUDA kernel");
  SmallVector<Value> operands{op.getQuery(), op.getKey(), op.getValue()};
  if (failed(checkAttentionOperands(op, operands, op.getQuery(), op.getKey(), op.getValue())))
    return failure();
  ArrayRef<int64_t> q = shapeOf(op.getQuery()), k = shapeOf(op.getKey()), v = shapeOf(op.getValue());
  const int64_t blockSize = (int64_t)op.getBlockSize(), select = (int64_t)op.getSelectBlocks();
  // The block scores and flags live in shared memory, one of each per key block.
  if (ShapedType::isDynamic(k[2]))
    return op.emitError("cuda: block selection needs a static key length (bind it with "
                        "--ds-input-shape)");
  const int64_t maxBlocks = std::max<int64_t>(1, (k[2] + blockSize - 1) / blockSize);
  // K tile [32][D + 1], V tile [32][DV], Q rows [16][D], the summed query [D],
  // scores and flags [maxBlocks] (BlockSelectAttention.cuh).
  const int64_t sharedBytes = (32 * (q[3] + 1) + 32 * v[3] + 16 * q[3] + q[3] + 2 * maxBlocks) * 4;
  constexpr int64_t kSharedLimit = 163 * 1024; // what an sm_80 block may opt into
  if (sharedBytes > kSharedLimit)
    return op.emitError("cuda: block selection over ")
           << maxBlocks << " key blocks at head dim " << q[3] << " needs " << sharedBytes
           << " bytes of shared memory per block, more than the " << kSharedLimit
           << " a block can have (use larger blocks)";

  KernelWriter w(group, name, *ctx.sizes);
  Dims qd = w.dims(op.getQuery()), kd = w.dims(op.getKey());
  DimExpr offset = diagonalOffset((int64_t)op.getCausalOffset(), op.getCausalFromEnd(),
                                  op.getQuery(), op.getKey(), ctx);
  double scale = op.getScale() ? op.getScale()->convertToDouble() : 1.0 / std::sqrt((double)q[3]);
  std::string cfg = name + "_config";
  std::string config;
  llvm::raw_string_ostream c(config);
  c << "struct " << cfg << " {\n"
    << "  static constexpr int HQ = " << q[1] << ", HKV = " << k[1] << ", D = " << q[3]
    << ", DV = " << v[3] << ";\n"
    << "  static constexpr float SCALE = " << floatLiteral(scale)
    << ", SOFTCAP = " << floatLiteral(op.getSoftcap().convertToDouble()) << ";\n"
    << "  static constexpr int SELECT = " << std::min<int64_t>(select, maxBlocks)
    << ", BLOCK = " << blockSize << ", MAX_BLOCKS = " << maxBlocks << ";\n"
    << "  int S, L, CAUSAL_OFFSET;\n"
    << "};\n";
  std::string qn = w.inputParam(cast<BlockArgument>(op.getQuery()));
  std::string kn = w.inputParam(cast<BlockArgument>(op.getKey()));
  std::string vn = w.inputParam(cast<BlockArgument>(op.getValue()));
  w.line() << "// block-selected attention: " << qd[0] << "x" << q[1] << " heads of " << qd[2]
           << " queries x " << kd[2] << " keys in blocks of " << blockSize << ", " << select
           << " chosen per query block\n";
  // The diagonal as an int: clamped where nothing changes (below -2^31 + 1
  // no row sees a key; past ceil(L / b) b + b every block is an earlier one).
  const std::string d = "(long long)(" + formC(offset) + ")";
  const std::string low = "-2147483647LL",
                    high = std::to_string((k[2] + blockSize - 1) / blockSize * blockSize + blockSize) +
                           "LL";
  w.line() << "const " << cfg << " cfg{(int)" << qd[2] << ", (int)" << kd[2] << ", (int)(" << d
           << " < " << low << " ? " << low << " : " << d << " > " << high << " ? " << high << " : "
           << d << ")};\n";
  w.line() << "ds_attention::flash_attention_select<" << *storageType(elementOf(op.getQuery()))
           << ", " << cfg << ">(" << qn << ", " << kn << ", " << vn << ", " << w.outputParam(0)
           << ", cfg);\n";
  ctx.source += config + w.globals + w.finish("__launch_bounds__(128)") + "\n";
  ctx.steps.push_back(w.launchStep({ctx.sizes->size(op.getQuery(), 2).ceilDiv(blockSize),
                                    Size::of(q[1]), ctx.sizes->size(op.getQuery(), 0)},
                                   {128, 1, 1}, sharedBytes));
  ++ctx.kernels;
  return success();
}
