//===- MemoryAnalysis.cpp - liveness, peak and arena plan of @main --------===//
#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "core/ArenaPlan.h"

#include "ds-runtime/ds_artifact_format.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Debug.h"

#include <algorithm>
#include <functional>

#define DEBUG_TYPE "ds-memory-analysis"

using namespace mlir;
using namespace mlir::ds;

std::optional<uint64_t> mlir::ds::storageBytesPerElement(Type t) {
  if (!t.isIntOrFloat())
    return std::nullopt;
  return t.isInteger(1) ? 1 : (t.getIntOrFloatBitWidth() + 7) / 8;
}

std::optional<uint64_t> mlir::ds::storageBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return std::nullopt;
  std::optional<uint64_t> element = storageBytesPerElement(tensor.getElementType());
  if (!element)
    return std::nullopt;
  return (uint64_t)tensor.getNumElements() * *element;
}

MemoryAnalysis::MemoryAnalysis(Operation *op) {
  if (auto func = dyn_cast<func::FuncOp>(op)) {
    analyze(func);
    return;
  }
  if (auto module = dyn_cast<ModuleOp>(op)) {
    if (auto main = module.lookupSymbol<func::FuncOp>("main"))
      analyze(main);
    else
      error_ = "no func.func @main";
    return;
  }
  error_ = "memory analysis needs a func.func or a module with @main, not " +
           op->getName().getStringRef().str();
}

MemoryAnalysis::MemoryAnalysis(func::FuncOp func) { analyze(func); }

void MemoryAnalysis::analyze(func::FuncOp func) {
  func_ = func;
  if (func.isExternal() || !func.getBody().hasOneBlock()) {
    error_ = "@" + func.getSymName().str() + " must have one block";
    return;
  }
  Block &body = func.getBody().front();
  terminator_ = body.getTerminator();
  planned_ =
      llvm::all_of(body.getArgumentTypes(), [](Type t) { return storageBytes(t).has_value(); });

  // Steps and their results, in program order; the ops of a fusion group
  // are steps of their own (the cpu runtime runs a group it cannot tile op
  // by op), and the group's span tells which steps run together.
  std::vector<dsrt::StepSpan> spans;
  auto addStep = [&](Operation &op) {
    int64_t index = numSteps();
    stepIndex_[&op] = index;
    steps_.push_back(&op);
    spans.push_back({index, index});
    for (Value result : op.getResults()) {
      Buffer buffer;
      buffer.value = result;
      buffer.begin = buffer.end = index;
      buffer.bytes = storageBytes(result.getType());
      if (!buffer.bytes) {
        ++numDynamic_;
        planned_ = false;
      }
      bufferIndex_[result] = buffers_.size();
      buffers_.push_back(buffer);
    }
  };
  for (Operation &op : body.without_terminator()) {
    if (isa<ConstantOp>(op))
      continue;
    auto group = dyn_cast<FusionGroupOp>(op);
    if (!group) {
      addStep(op);
      continue;
    }
    int64_t first = numSteps();
    Block &groupBody = group.getBody().front();
    for (Operation &inner : groupBody.without_terminator())
      if (!isa<ConstantOp>(inner))
        addStep(inner);
    // The head (a convolution or matmul anchor) runs whole; the steps after it run
    // together, in tiles. An integer convolution's or matmul's kernel may run
    // them as it stores (the CPU runtime's store epilogues, whose
    // storesThroughEpilogue names the same two ops), still reading its
    // input: its group is one span. Its i32 sums, read only inside, then end
    // at their reader (they are never written when the kernel stores through
    // the chain; a CPU without VNNI may then run the tail op by op).
    int64_t tail = first + getGroupTiling(group).headOps;
    if (tail == first + 1 && isa<ConvIntegerOp, MatMulIntegerOp>(steps_[first]))
      tail = first;
    for (int64_t i = tail; i < numSteps(); ++i)
      spans[i] = {tail, numSteps() - 1};
    // A group result is the value its body yields.
    for (auto [result, yielded] : llvm::zip(group.getResults(), groupBody.getTerminator()->getOperands()))
      if (auto it = bufferIndex_.find(yielded); it != bufferIndex_.end())
        bufferIndex_[result] = it->second;
    if (numSteps() == first) // nothing but constants: the group op stands for itself
      stepIndex_[&op] = first;
  }

  // Lifetimes: each use widens the value's life with the rule the runtime
  // applies (dsrt::extendLifetime): a value read by another group lives to
  // that group's end; graph outputs live to the end.
  int64_t end = numSteps();
  std::function<void(Buffer &, int64_t, Value)> addUses = [&](Buffer &buffer, int64_t def,
                                                               Value value) {
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isa<YieldOp>(user)) { // through the group's result
        addUses(buffer, def, user->getParentOp()->getResult(use.getOperandNumber()));
        continue;
      }
      if (auto group = dyn_cast<FusionGroupOp>(user)) { // into its body
        addUses(buffer, def, group.getBody().front().getArgument(use.getOperandNumber()));
        continue;
      }
      int64_t at = user == terminator_ ? end : getStepIndex(user).value_or(def);
      dsrt::BufferLifetime life{buffer.begin, buffer.end, 0};
      dsrt::extendLifetime(life, def, at, spans);
      buffer.begin = life.begin;
      buffer.end = life.end;
    }
  };
  for (Buffer &buffer : buffers_) {
    int64_t def = buffer.begin;
    addUses(buffer, def, buffer.value);
  }

  // Bytes alive per step (a difference array over the lifetimes), the peak
  // and the sum.
  std::vector<int64_t> delta(end + 2, 0);
  for (const Buffer &buffer : buffers_) {
    if (!buffer.bytes)
      continue;
    intermediateBytes_ += *buffer.bytes;
    delta[buffer.begin] += (int64_t)*buffer.bytes;
    delta[buffer.end + 1] -= (int64_t)*buffer.bytes;
  }
  liveBytes_.assign(end + 1, 0);
  int64_t live = 0;
  for (int64_t i = 0; i <= end; ++i) {
    live += delta[i];
    liveBytes_[i] = (uint64_t)live;
    if (liveBytes_[i] > peakBytes_) {
      peakBytes_ = liveBytes_[i];
      peakStep_ = i;
    }
  }

  // The arena plan, with the planner the runtime uses per input shape.
  if (!planned_)
    return;
  std::vector<dsrt::BufferLifetime> lifetimes;
  lifetimes.reserve(buffers_.size());
  for (const Buffer &buffer : buffers_)
    lifetimes.push_back({buffer.begin, buffer.end, *buffer.bytes});
  std::vector<uint64_t> offsets = dsrt::planArena(lifetimes, DSX_CONSTANT_ALIGNMENT, arenaBytes_);
  for (auto [buffer, offset] : llvm::zip(buffers_, offsets))
    buffer.offset = offset;
  LLVM_DEBUG(llvm::dbgs() << "@" << func.getSymName() << ": " << numSteps() << " steps, "
                          << buffers_.size() << " intermediates, peak " << peakBytes_
                          << " B at step " << peakStep_ << ", arena " << arenaBytes_ << " B\n");
}

std::optional<int64_t> MemoryAnalysis::getStepIndex(Operation *op) const {
  if (!func_ || !isValid())
    return std::nullopt;
  func::FuncOp func = func_;
  if (auto own = stepIndex_.find(op); own != stepIndex_.end()) // an op of a group
    return own->second;
  Operation *inBlock = func.getBody().front().findAncestorOpInBlock(*op);
  if (!inBlock)
    return std::nullopt;
  if (inBlock == terminator_)
    return numSteps();
  if (auto group = dyn_cast<FusionGroupOp>(inBlock)) { // the group: its first step
    for (Operation &inner : group.getBody().front())
      if (auto it = stepIndex_.find(&inner); it != stepIndex_.end())
        return it->second;
  }
  auto it = stepIndex_.find(inBlock);
  if (it == stepIndex_.end())
    return std::nullopt;
  return it->second;
}

const MemoryAnalysis::Buffer *MemoryAnalysis::lookup(Value value) const {
  auto it = bufferIndex_.find(value);
  return it == bufferIndex_.end() ? nullptr : &buffers_[it->second];
}

std::vector<const MemoryAnalysis::Buffer *> MemoryAnalysis::getBuffersAtPeak() const {
  std::vector<const Buffer *> alive;
  for (const Buffer &buffer : buffers_)
    if (buffer.bytes && *buffer.bytes > 0 && buffer.begin <= peakStep_ && peakStep_ <= buffer.end)
      alive.push_back(&buffer);
  // Largest first; `alive` points into `buffers_`, so address order is
  // program order.
  std::sort(alive.begin(), alive.end(), [](const Buffer *a, const Buffer *b) {
    return *a->bytes != *b->bytes ? *a->bytes > *b->bytes : a < b;
  });
  return alive;
}
