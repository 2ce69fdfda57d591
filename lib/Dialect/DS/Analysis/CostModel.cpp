//===- CostModel.cpp - FLOPs, bytes moved and roofline time of ds ops ----===//
#include "ds/Dialect/DS/Analysis/CostModel.h"
#include "ds/Dialect/DS/Analysis/BlockLayout.h"
#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstring>
#include <thread>
#include <vector>

using namespace mlir;
using namespace mlir::ds;

llvm::StringRef mlir::ds::stringifyArithmeticKind(ArithmeticKind kind) {
  switch (kind) {
  case ArithmeticKind::F32: return "f32";
  case ArithmeticKind::F16: return "f16";
  case ArithmeticKind::FP8: return "fp8";
  case ArithmeticKind::Int8: return "int8";
  case ArithmeticKind::F64: return "f64";
  }
  return "f32";
}

namespace {
std::optional<double> elements(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  return (double)type.getNumElements();
}

std::optional<double> bytes(Value value) {
  std::optional<uint64_t> size = storageBytes(value.getType());
  if (!size)
    return std::nullopt;
  return (double)*size;
}

/// The arithmetic a contraction's operands run in.
ArithmeticKind kindOf(Type element) {
  if (element.isF64())
    return ArithmeticKind::F64;
  if (element.isF16() || element.isBF16())
    return ArithmeticKind::F16;
  if (isa<FloatType>(element) && element.getIntOrFloatBitWidth() == 8)
    return ArithmeticKind::FP8;
  if (element.isInteger(8))
    return ArithmeticKind::Int8;
  return ArithmeticKind::F32;
}

ArithmeticKind kindOf(Value value) {
  return kindOf(cast<ShapedType>(value.getType()).getElementType());
}

/// Operations per element of elementwise and normalizing ops: one for
/// arithmetic, more where the kernel does several passes (softmax: max,
/// subtract, exp, sum, divide).
double perElement(Operation *op) {
  return llvm::TypeSwitch<Operation *, double>(op)
      .Case([](SoftmaxOp) { return 5.0; })
      .Case([](NormOp norm) { return norm.getKind() == NormKind::rms ? 4.0 : 8.0; })
      .Case([](QuantizeOp) { return 3.0; })
      .Case([](DequantizeOp) { return 2.0; })
      .Case([](DynamicQuantizeOp) { return 5.0; })
      .Default([](Operation *) { return 1.0; });
}

/// Keys each query of an attention sees, summed over the S queries
/// (causality with the diagonal at i + offset, window and sinks).
double visiblePairs(bool causal, int64_t offset, int64_t window, int64_t sinks, int64_t S,
                    int64_t L) {
  if (!causal)
    return (double)S * L;
  double pairs = 0;
  for (int64_t i = 0; i < S; ++i) {
    int64_t diagonal = i + offset; // the last key it may see, before clipping
    if (diagonal < 0)
      continue;
    int64_t last = std::min<int64_t>(diagonal, L - 1);
    int64_t first = window > 0 ? std::max<int64_t>(0, diagonal - window + 1) : 0;
    int64_t seen = first <= last ? last - first + 1 : 0;
    seen += std::min<int64_t>(sinks, std::min<int64_t>(first, last + 1)); // sinks before the window
    pairs += (double)seen;
  }
  return pairs;
}

template <typename Op> int64_t diagonalOffset(Op op, int64_t S, int64_t L) {
  return op.getCausalOffset() + (op.getCausalFromEnd() ? L - S : 0);
}

/// NSA selection counts as its window of blocks.
std::optional<double> visiblePairs(AttentionOp op, int64_t S, int64_t L) {
  int64_t window = op.getWindow();
  if (op.getSelectBlocks() > 0) // first block, local blocks and the selected ones
    window = (op.getSelectBlocks() + 2) * op.getBlockSize();
  return visiblePairs(op.getIsCausal(), diagonalOffset(op, S, L), window, op.getSinkTokens(), S,
                      L);
}

/// Multiply-adds of the contraction and attention ops (counted twice), and
/// per-element work of the rest, by op class.
std::optional<double> flopsOf(Operation *op) {
  auto product = [](ArrayRef<int64_t> shape) {
    double p = 1;
    for (int64_t d : shape)
      p *= (double)d;
    return p;
  };
  auto matmul = [&](Value lhs, Value result) -> std::optional<double> {
    std::optional<double> out = elements(result);
    auto type = cast<RankedTensorType>(lhs.getType());
    if (!out || type.getRank() == 0 || type.isDynamicDim(type.getRank() - 1))
      return std::nullopt;
    return 2.0 * *out * (double)type.getShape().back();
  };
  // Convolutions: every output element sums C/group × kernel products.
  auto conv = [&](Value weight, Value result) -> std::optional<double> {
    std::optional<double> out = elements(result);
    auto type = cast<RankedTensorType>(weight.getType());
    if (!out || !type.hasStaticShape())
      return std::nullopt;
    return 2.0 * *out * product(type.getShape().drop_front());
  };
  auto attention = [&](Value q, Value v, double pairsPerHead) -> std::optional<double> {
    auto qt = cast<RankedTensorType>(q.getType()), vt = cast<RankedTensorType>(v.getType());
    if (!qt.hasStaticShape() || !vt.hasStaticShape() || qt.getRank() != 4)
      return std::nullopt;
    double heads = (double)qt.getDimSize(0) * qt.getDimSize(1);
    double d = (double)qt.getDimSize(3), dv = (double)vt.getDimSize(3);
    // QKᵀ and PV, plus the softmax of every score.
    return heads * pairsPerHead * (2.0 * (d + dv) + 5.0);
  };

  return llvm::TypeSwitch<Operation *, std::optional<double>>(op)
      .Case([&](MatMulOp m) { return matmul(m.getLhs(), m.getResult()); })
      .Case([&](MatMulIntegerOp m) { return matmul(m.getLhs(), m.getResult()); })
      .Case([&](MatMulQuantizedWeightOp m) { return matmul(m.getLhs(), m.getResult()); })
      .Case([&](ConvOp c) { return conv(c.getWeight(), c.getResult()); })
      .Case([&](ConvIntegerOp c) { return conv(c.getWeight(), c.getResult()); })
      .Case([&](ConvTransposeOp c) -> std::optional<double> {
        // Every input element scatters into Cout/group × kernel outputs.
        std::optional<double> in = elements(c.getInput());
        auto w = cast<RankedTensorType>(c.getWeight().getType());
        if (!in || !w.hasStaticShape())
          return std::nullopt;
        return 2.0 * *in * product(w.getShape().drop_front());
      })
      .Case([&](EinsumOp e) -> std::optional<double> {
        // Every combination of the equation's labels is one product.
        llvm::StringRef equation = e.getEquation();
        llvm::StringRef lhs = equation.split("->").first;
        llvm::SmallVector<llvm::StringRef> terms;
        lhs.split(terms, ',');
        if (terms.size() != e.getInputs().size())
          return std::nullopt;
        std::map<char, int64_t> sizes;
        for (auto [term, input] : llvm::zip(terms, e.getInputs())) {
          auto type = cast<RankedTensorType>(input.getType());
          term = term.trim();
          if (term.contains('.') || (int64_t)term.size() != type.getRank() ||
              !type.hasStaticShape())
            return std::nullopt;
          for (auto [label, size] : llvm::zip(term, type.getShape()))
            sizes[label] = std::max(sizes[label], size);
        }
        double all = 1;
        for (auto &[label, size] : sizes)
          all *= (double)size;
        return all * std::max<double>(1.0, 2.0 * ((double)terms.size() - 1));
      })
      .Case([&](AttentionOp a) -> std::optional<double> {
        auto q = cast<RankedTensorType>(a.getQuery().getType());
        auto k = cast<RankedTensorType>(a.getKey().getType());
        if (q.getRank() != 4 || k.getRank() != 4 || q.isDynamicDim(2) || k.isDynamicDim(2))
          return std::nullopt;
        std::optional<double> pairs = visiblePairs(a, q.getDimSize(2), k.getDimSize(2));
        return pairs ? attention(a.getQuery(), a.getValue(), *pairs) : std::nullopt;
      })
      .Case([&](AttentionGradOp a) -> std::optional<double> {
        // The fused backward's GEMMs: scores twice per query tile (the row
        // statistics, then dQ) and once per key tile, dP twice, dQ, dK, dV:
        // four times the forward's two.
        auto q = cast<RankedTensorType>(a.getQuery().getType());
        auto k = cast<RankedTensorType>(a.getKey().getType());
        if (q.getRank() != 4 || k.getRank() != 4 || q.isDynamicDim(2) || k.isDynamicDim(2))
          return std::nullopt;
        int64_t S = q.getDimSize(2), L = k.getDimSize(2);
        double pairs = visiblePairs(a.getIsCausal(), diagonalOffset(a, S, L), a.getWindow(),
                                    a.getSinkTokens(), S, L);
        std::optional<double> forward = attention(a.getQuery(), a.getValue(), pairs);
        return forward ? std::optional<double>(4.0 * *forward) : std::nullopt;
      })
      .Case([&](SparseAttentionOp a) -> std::optional<double> {
        auto q = cast<RankedTensorType>(a.getQuery().getType());
        auto idx = cast<RankedTensorType>(a.getIndices().getType());
        if (q.getRank() != 4 || idx.getRank() != 4 || q.isDynamicDim(2) || idx.isDynamicDim(3))
          return std::nullopt;
        return attention(a.getQuery(), a.getValue(), (double)q.getDimSize(2) * idx.getDimSize(3));
      })
      .Case([&](BlockSparseAttentionOp a) -> std::optional<double> {
        auto q = cast<RankedTensorType>(a.getQuery().getType());
        auto k = cast<RankedTensorType>(a.getKey().getType());
        std::optional<BlockLayout> layout = constantLayout(a);
        if (q.getRank() != 4 || k.getRank() != 4 || q.isDynamicDim(2) || k.isDynamicDim(2) ||
            !layout)
          return std::nullopt;
        int64_t S = q.getDimSize(2), L = k.getDimSize(2);
        int64_t offset = a.getCausalOffset() + (a.getCausalFromEnd() ? L - S : 0);
        return attention(a.getQuery(), a.getValue(),
                         visibleBlockPairs(*layout, S, L, a.getIsCausal(), offset));
      })
      .Case([&](BlockSparseAttentionGradOp a) -> std::optional<double> {
        // As the forward's pairs, four times over (ds.attention_grad's GEMMs).
        auto q = cast<RankedTensorType>(a.getQuery().getType());
        auto k = cast<RankedTensorType>(a.getKey().getType());
        std::optional<BlockLayout> layout =
            constantLayout(a.getLayout(), (int64_t)a.getBlockSize());
        if (q.getRank() != 4 || k.getRank() != 4 || q.isDynamicDim(2) || k.isDynamicDim(2) ||
            !layout)
          return std::nullopt;
        int64_t S = q.getDimSize(2), L = k.getDimSize(2);
        std::optional<double> forward = attention(
            a.getQuery(), a.getValue(),
            visibleBlockPairs(*layout, S, L, a.getIsCausal(), diagonalOffset(a, S, L)));
        return forward ? std::optional<double>(4.0 * *forward) : std::nullopt;
      })
      .Case([&](SparseAttentionGradOp a) -> std::optional<double> {
        // Per listed pair: the score, dP, and a D-long update each of dQ,
        // dK and dV, in two passes (the score and dP twice).
        auto q = cast<RankedTensorType>(a.getQuery().getType());
        auto idx = cast<RankedTensorType>(a.getIndices().getType());
        if (q.getRank() != 4 || idx.getRank() != 4 || q.isDynamicDim(2) || idx.isDynamicDim(3))
          return std::nullopt;
        std::optional<double> forward =
            attention(a.getQuery(), a.getValue(), (double)q.getDimSize(2) * idx.getDimSize(3));
        return forward ? std::optional<double>(3.5 * *forward) : std::nullopt;
      })
      .Case([&](PoolOp p) -> std::optional<double> {
        std::optional<double> out = elements(p.getResult());
        return out ? std::optional<double>(*out * product(p.getKernelShape())) : std::nullopt;
      })
      .Case([&](TopKOp t) -> std::optional<double> {
        // A selection over each row: about n·log2(k) comparisons.
        std::optional<double> in = elements(t.getInput());
        auto values = cast<RankedTensorType>(t.getValues().getType());
        int64_t axis = (int64_t)t.getAxis(); // I64Attr getters return uint64_t
        if (axis < 0)
          axis += values.getRank();
        if (!in || axis < 0 || axis >= values.getRank() || values.isDynamicDim(axis))
          return std::nullopt;
        return *in * std::max(1.0, std::log2((double)values.getDimSize(axis) + 1));
      })
      .Default([&](Operation *op) -> std::optional<double> {
        switch (getOpClass(op)) {
        case DSX_OP_DATA_MOVEMENT:
        case DSX_OP_SHAPE:
        case DSX_OP_GENERATOR:
        case DSX_OP_OTHER:
          return 0.0;
        case DSX_OP_REDUCTION:
        case DSX_OP_WINDOW: { // every input element once (or per element's work)
          std::optional<double> in = elements(op->getOperand(0));
          return in ? std::optional<double>(*in * perElement(op)) : std::nullopt;
        }
        default: { // elementwise, precision: per result element
          double total = 0;
          for (Value result : op->getResults()) {
            std::optional<double> out = elements(result);
            if (!out)
              return std::nullopt;
            total += *out * perElement(op);
          }
          return total;
        }
        }
      });
}

/// Bytes an op reads: each operand once, except that an op selecting
/// elements (slice, gather, transpose, ...) reads about what it writes.
std::optional<double> bytesRead(Operation *op) {
  double total = 0;
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    std::optional<double> size = bytes(operand);
    if (!size)
      return std::nullopt;
    if (i == 0 && op->hasTrait<OpTrait::ds::SelectsElements>() && op->getNumResults() == 1)
      if (std::optional<double> out = bytes(op->getResult(0)))
        size = std::min(*size, *out);
    total += *size;
  }
  return total;
}

std::optional<double> bytesWritten(Operation *op) {
  double total = 0;
  for (Value result : op->getResults()) {
    std::optional<double> size = bytes(result);
    if (!size)
      return std::nullopt;
    total += *size;
  }
  return total;
}

/// The widest arithmetic among an op's float / 8-bit operands: a bf16
/// matmul runs on 16-bit units, an f32 softmax after it does not.
ArithmeticKind arithmeticOf(Operation *op) {
  if (getOpClass(op) == DSX_OP_CONTRACTION || getOpClass(op) == DSX_OP_ATTENTION)
    return op->getNumOperands() ? kindOf(op->getOperand(0)) : ArithmeticKind::F32;
  for (Value result : op->getResults())
    if (kindOf(result) == ArithmeticKind::F64)
      return ArithmeticKind::F64;
  return ArithmeticKind::F32;
}
} // namespace

std::optional<OpCost> mlir::ds::estimateCost(Operation *op) {
  if (isa<ConstantOp, func::ReturnOp, YieldOp>(op))
    return OpCost{};
  OpCost cost;
  if (auto group = dyn_cast<FusionGroupOp>(op)) {
    // The body's arithmetic; memory traffic only at the group's edges.
    bool contraction = false;
    for (Operation &inner : group.getBody().front().without_terminator()) {
      std::optional<OpCost> part = estimateCost(&inner);
      if (!part)
        return std::nullopt;
      cost.flops += part->flops;
      if (!contraction || getOpClass(&inner) == DSX_OP_CONTRACTION)
        cost.kind = part->kind;
      contraction |= getOpClass(&inner) == DSX_OP_CONTRACTION;
    }
  } else {
    std::optional<double> flops = flopsOf(op);
    if (!flops)
      return std::nullopt;
    cost.flops = *flops;
    cost.kind = arithmeticOf(op);
  }
  std::optional<double> read = bytesRead(op), written = bytesWritten(op);
  if (!read || !written)
    return std::nullopt;
  cost.bytesRead = *read;
  cost.bytesWritten = *written;
  return cost;
}

//===----------------------------------------------------------------------===//
// Machines
//===----------------------------------------------------------------------===//

double Machine::peak(ArithmeticKind kind) const {
  switch (kind) {
  case ArithmeticKind::F16: return f16;
  case ArithmeticKind::FP8: return fp8;
  case ArithmeticKind::Int8: return int8;
  case ArithmeticKind::F64: return f64;
  case ArithmeticKind::F32: break;
  }
  return f32;
}

double Machine::seconds(const OpCost &cost) const {
  double compute = cost.flops > 0 ? cost.flops / peak(cost.kind) : 0.0;
  return std::max(compute, cost.bytes() / bandwidth);
}

bool Machine::computeBound(const OpCost &cost) const {
  return cost.flops > 0 && cost.flops / peak(cost.kind) >= cost.bytes() / bandwidth;
}

namespace {
/// Streams a buffer larger than the caches a few times; the best of the
/// runs in bytes per second (read + write) on one thread.
double measureBandwidth() {
  constexpr size_t kBytes = 64u << 20;
  std::vector<char> source(kBytes, 1), target(kBytes, 0);
  double best = 0;
  for (int run = 0; run < 4; ++run) {
    auto start = std::chrono::steady_clock::now();
    std::memcpy(target.data(), source.data(), kBytes);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 0)
      best = std::max(best, 2.0 * kBytes / seconds);
    source[run] = target[kBytes - 1 - run]; // keep the copies observable
  }
  return best > 0 ? best : 10e9;
}

/// A field of /proc/cpuinfo's first processor ("" when absent).
std::string cpuInfoField(llvm::StringRef text, llvm::StringRef key) {
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    auto [name, value] = line.split(':');
    if (name.trim() == key)
      return value.trim().str();
  }
  return "";
}
} // namespace

Machine mlir::ds::hostCpu(unsigned threads, double bandwidthGBs) {
  Machine machine;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (threads == 0 || threads > cores)
    threads = cores;
  std::string info;
  if (auto file = llvm::MemoryBuffer::getFileAsStream("/proc/cpuinfo"))
    info = (*file)->getBuffer().str();
  std::string model = cpuInfoField(info, "model name");
  double ghz = 0;
  llvm::StringRef(cpuInfoField(info, "cpu MHz")).getAsDouble(ghz);
  ghz = ghz > 0 ? ghz / 1000 : 2.0;
  // Two FMA ports of the widest vector unit: 16 f32 lanes for AVX-512, 8
  // for AVX2; BF16 dot products double that, VNNI quadruples it for int8.
  double lanes = 4;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    lanes = 16;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    lanes = 8;
#endif
  std::string flags = " " + cpuInfoField(info, "flags") + " ";
  double perCycle = 2 * 2 * lanes * threads; // 2 ports × FMA = 2 operations
  machine.name = (model.empty() ? std::string("host CPU") : model) + ", " +
                 std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  machine.f32 = perCycle * ghz * 1e9;
  machine.f64 = machine.f32 / 2;
  machine.f16 = flags.find(" avx512_bf16 ") != std::string::npos ? 2 * machine.f32 : machine.f32;
  machine.fp8 = machine.f32; // emulated: rounded operands, f32 arithmetic
  machine.int8 = flags.find(" avx512_vnni ") != std::string::npos ||
                         flags.find(" avx_vnni ") != std::string::npos
                     ? 4 * machine.f32
                     : 2 * machine.f32;
  if (bandwidthGBs > 0) {
    machine.bandwidth = bandwidthGBs * 1e9;
  } else {
    static const double measured = measureBandwidth();
    machine.bandwidth = measured;
  }
  return machine;
}

Machine mlir::ds::h200() {
  Machine machine;
  machine.name = "H200 SXM";
  machine.f32 = 67e12;
  machine.f64 = 67e12;
  machine.f16 = 989e12;
  machine.fp8 = 1979e12;
  machine.int8 = 1979e12;
  machine.bandwidth = 4.8e12;
  return machine;
}
