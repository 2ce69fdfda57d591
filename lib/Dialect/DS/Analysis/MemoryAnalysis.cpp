//===- MemoryAnalysis.cpp - liveness, peak and arena plan of @main --------===//
#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "core/ArenaPlan.h"

#include "ds-runtime/ds_artifact_format.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Debug.h"

#include <algorithm>

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

  // Steps and their results, in program order.
  for (Operation &op : body.without_terminator()) {
    if (isa<ConstantOp>(op))
      continue;
    int64_t index = numSteps();
    stepIndex_[&op] = index;
    steps_.push_back(&op);
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
  }

  // Lifetimes: to the last step reading the value (an op nested in a step
  // counts as that step); graph outputs to the end.
  int64_t end = numSteps();
  for (Buffer &buffer : buffers_)
    for (OpOperand &use : buffer.value.getUses()) {
      Operation *user = body.findAncestorOpInBlock(*use.getOwner());
      int64_t at = user == terminator_ ? end : getStepIndex(user).value_or(buffer.begin);
      buffer.end = std::max(buffer.end, at);
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
  Operation *inBlock = func.getBody().front().findAncestorOpInBlock(*op);
  if (!inBlock)
    return std::nullopt;
  if (inBlock == terminator_)
    return numSteps();
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
