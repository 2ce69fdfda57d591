//===- Fuse.cpp - group ds ops into ds.fusion_group kernels ---------------===//
//
// ds-fuse puts every ds compute op of a function into exactly one
// ds.fusion_group, so that a backend emits one kernel per group.
//
// Analysis: one walk over each block in order. An op either joins the group
// of one of its producers or starts a new group; groups are union-find
// classes, so merging sibling chains is cheap and nothing recurses over the
// graph (a 100,000-op chain is one loop).
//
// Placement and cycles: a group is materialized where its last op was. That is
// legal as long as no op outside the group uses a group value before that
// point. So a group is *sealed* as soon as an outside op uses one of its values,
// and a sealed group never grows again. Invariant: every group's inputs come
// from groups whose last op is earlier, which makes the group graph acyclic
// by construction (edges go from earlier to later placement points). This is
// conservative: an outside user in the middle of a chain cuts the chain even
// where reordering could have kept it whole.
//
// Decisions (documented in FusionPasses.td):
//  - a value used inside the group and by a later op outside becomes an extra
//    group result (multi-output group);
//  - ops fuse when their result shapes are equal, a `?` dim matching a `?`
//    at the same place; two `?` may still differ (broadcast) at run time,
//    so a backend checks the bound sizes before it runs a group as one
//    kernel (the CPU runtime runs such a group op by op instead, CUDA takes
//    static shapes only);
//  - ds.reshape (a pure view) gets its own single-op data_movement group; the
//    backend turns it into an alias;
//  - constants are group inputs (weights stay in memory), except cheap ones
//    that are cloned into the body: splats, tensors of at most one element, and
//    integer tensors of at most 64 elements (shape parameters that a kernel
//    needs at compile time).
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "ds-fuse"

namespace mlir::ds {
#define GEN_PASS_DEF_FUSEPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

//===----------------------------------------------------------------------===//
// Op classes
//===----------------------------------------------------------------------===//

/// How an op takes part in fusion.
enum class OpClass {
  Elementwise, // joins chains, epilogues and reduction producers/consumers
  Reduction,   // anchor of a reduction group
  Contraction, // anchor of a contraction group
  Attention,   // alone in an attention group
  Single,      // alone in a group of kind singleOpFusionKind()
  Ignored,     // not a ds compute op (constants, fusion groups, other dialects)
};

/// How the op's declared class (DS_OpClass) takes part in fusion.
OpClass classify(Operation *op) {
  if (!isa<DSDialect>(op->getDialect()))
    return OpClass::Ignored;
  switch (getOpClass(op)) {
  case DSX_OP_ELEMENTWISE:
    return OpClass::Elementwise;
  case DSX_OP_REDUCTION:
    return OpClass::Reduction;
  case DSX_OP_CONTRACTION:
    return OpClass::Contraction;
  case DSX_OP_ATTENTION:
    return OpClass::Attention;
  case DSX_OP_OTHER: // constants, groups, yield
    return OpClass::Ignored;
  case DSX_OP_PRECISION:
    return isPerTensorQuantization(op) ? OpClass::Elementwise : OpClass::Single;
  default:
    return OpClass::Single;
  }
}

/// The shape of a ranked tensor, `?` dims included.
std::optional<ArrayRef<int64_t>> rankedShape(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return std::nullopt;
  return tensor.getShape();
}

/// Constants cloned into a group body instead of passed as inputs.
bool isCheapConstant(ConstantOp constant) {
  auto type = cast<RankedTensorType>(constant.getType());
  if (type.hasStaticShape() && type.getNumElements() <= 1)
    return true;
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense)
    return false;
  if (dense.isSplat())
    return true;
  return isa<IntegerType>(type.getElementType()) && type.getNumElements() <= 64;
}

//===----------------------------------------------------------------------===//
// Analysis
//===----------------------------------------------------------------------===//

/// A group while the analysis grows it. Only the union-find root's record is
/// meaningful.
struct Group {
  unsigned parent;               // union-find parent (itself for a root)
  FusionKind kind;               // elementwise until an anchor joins
  Operation *anchor = nullptr;   // the reduction / contraction / attention op
  SmallVector<int64_t> shape;    // shape every joining op's result must have
  bool closed = false;           // single-op and attention groups take no joins
  Operation *sealedBy = nullptr; // first outside user of a group value
};

class FusionAnalysis {
public:
  explicit FusionAnalysis(bool explain) : explain(explain) {}

  /// Assigns every ds compute op of `block` to a group.
  void run(Block &block);

  /// Root group of a grouped op, or nullopt for ops outside any group.
  std::optional<unsigned> groupOf(Operation *op) {
    auto it = groupOfOp.find(op);
    if (it == groupOfOp.end())
      return std::nullopt;
    return find(it->second);
  }
  const Group &group(unsigned id) const { return groups[id]; }

private:
  unsigned find(unsigned id) {
    // Path halving: iterative, no recursion.
    while (groups[id].parent != id) {
      groups[id].parent = groups[groups[id].parent].parent;
      id = groups[id].parent;
    }
    return id;
  }

  unsigned newGroup(Operation *op, FusionKind kind, bool closed);
  void visit(Operation *op);
  void visitElementwise(Operation *op);
  void visitReduction(Operation *op);
  std::optional<std::string> rejectElementwise(unsigned id, Operation *op);
  void merge(unsigned into, unsigned from);
  void sealProducers(Operation *user);
  void note(Operation *op, const Twine &message);

  /// Producer groups of `op`'s operands, deduplicated, in operand order.
  SmallVector<unsigned> producerGroups(Operation *op);

  bool explain;
  SmallVector<Group> groups;
  DenseMap<Operation *, unsigned> groupOfOp;
};

void FusionAnalysis::note(Operation *op, const Twine &message) {
  LLVM_DEBUG(llvm::dbgs() << "[ds-fuse] " << opNameWithKind(op) << " at " << op->getLoc() << " " << message
                          << "\n");
  if (explain)
    op->emitRemark() << message;
}

unsigned FusionAnalysis::newGroup(Operation *op, FusionKind kind, bool closed) {
  unsigned id = groups.size();
  Group group;
  group.parent = id;
  group.kind = kind;
  group.closed = closed;
  if (op->getNumResults() == 1)
    if (auto shape = rankedShape(op->getResult(0).getType()))
      group.shape.assign(shape->begin(), shape->end());
  groups.push_back(std::move(group));
  groupOfOp[op] = id;
  return id;
}

SmallVector<unsigned> FusionAnalysis::producerGroups(Operation *op) {
  SmallVector<unsigned> result;
  for (Value operand : op->getOperands()) {
    std::optional<unsigned> id;
    if (Operation *def = operand.getDefiningOp())
      id = groupOf(def);
    if (id && !llvm::is_contained(result, *id))
      result.push_back(*id);
  }
  return result;
}

/// Marks every group whose value `user` reads as sealed, unless `user` is in
/// that group. Nested ops of region-holding users count as the user.
void FusionAnalysis::sealProducers(Operation *user) {
  std::optional<unsigned> own = groupOf(user);
  user->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!def)
        continue;
      std::optional<unsigned> id = groupOf(def);
      if (id && id != own && !groups[*id].sealedBy)
        groups[*id].sealedBy = user;
    }
  });
}

void FusionAnalysis::merge(unsigned into, unsigned from) { groups[from].parent = into; }

/// Why elementwise `op` cannot join group `id`, or nullopt if it can.
std::optional<std::string> FusionAnalysis::rejectElementwise(unsigned id, Operation *op) {
  const Group &group = groups[id];
  if (group.closed)
    return std::string("its ") + stringifyFusionKind(group.kind).str() +
           " group takes no other ops";
  if (group.sealedBy) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "a value of the group is already used by " << opNameWithKind(group.sealedBy) << " at "
       << group.sealedBy->getLoc()
       << " outside it (the group would have to run both before and after it)";
    return text;
  }
  auto shape = rankedShape(op->getResult(0).getType());
  if (!shape)
    return std::string("its result is not a ranked tensor");
  if (ArrayRef<int64_t>(group.shape) != *shape)
    return "its result shape " + formatShape(*shape) + " differs from the group's " +
           formatShape(group.shape);
  return std::nullopt;
}

void FusionAnalysis::visitElementwise(Operation *op) {
  // Prefer a group with an anchor: an epilogue or reduction consumer saves a
  // round trip of the anchor's output; then operand order.
  SmallVector<unsigned> candidates, plain;
  for (unsigned id : producerGroups(op))
    (groups[id].anchor ? candidates : plain).push_back(id);
  llvm::append_range(candidates, plain);

  std::optional<unsigned> chosen;
  for (unsigned id : candidates) {
    std::optional<std::string> reason = rejectElementwise(id, op);
    if (reason) {
      note(op, "not fused into group #" + Twine(id) + ": " + *reason);
      continue;
    }
    if (!chosen) {
      chosen = id;
      const Group &group = groups[id];
      if (!group.anchor)
        note(op, "joined group #" + Twine(id) + " (elementwise): chain of shape " +
                     formatShape(group.shape));
      else if (group.kind == FusionKind::contraction)
        note(op,
             "joined group #" + Twine(id) + " (contraction): epilogue of " + opNameWithKind(group.anchor));
      else
        note(op, "joined group #" + Twine(id) + " (" + stringifyFusionKind(group.kind) +
                     "): consumer of " + opNameWithKind(group.anchor) + " with its output shape");
      continue;
    }
    // A second acceptable producer group: merge sibling elementwise chains
    // into an elementwise group. Anchored groups stay apart so that a
    // group never holds two anchors or side computations beside its anchor.
    if (groups[*chosen].anchor || groups[id].anchor) {
      note(op, "not fused into group #" + Twine(id) + ": already joined group #" + Twine(*chosen) +
                   " and only elementwise chains merge");
      continue;
    }
    note(op, "merged group #" + Twine(id) + " into group #" + Twine(*chosen) +
                 ": sibling elementwise chains of shape " + formatShape(groups[id].shape));
    merge(*chosen, id);
  }

  if (chosen) {
    groupOfOp[op] = *chosen;
    return;
  }
  unsigned id = newGroup(op, FusionKind::elementwise, /*closed=*/false);
  note(op, "started group #" + Twine(id) + " (elementwise)");
}

void FusionAnalysis::visitReduction(Operation *op) {
  // The anchor joins the elementwise group that produces its main input.
  Value input = op->getOperand(0);
  std::optional<unsigned> producer;
  if (Operation *def = input.getDefiningOp())
    producer = groupOf(def);
  auto inputShape = rankedShape(input.getType());
  auto resultShape = rankedShape(op->getResult(0).getType());
  if (producer) {
    const Group &group = groups[*producer];
    std::string reason;
    if (group.anchor)
      reason = "the group already has the anchor " + opNameWithKind(group.anchor);
    else if (group.closed)
      reason = "its " + stringifyFusionKind(group.kind).str() + " group takes no other ops";
    else if (group.sealedBy)
      reason = "a value of the group is already used by " + opNameWithKind(group.sealedBy) + " outside it";
    else if (!inputShape || !resultShape)
      reason = "its operand or result is not a ranked tensor";
    else if (ArrayRef<int64_t>(group.shape) != *inputShape)
      reason = "the group's shape " + formatShape(group.shape) + " is not its input shape " +
               formatShape(*inputShape);
    if (reason.empty()) {
      Group &joined = groups[*producer];
      joined.anchor = op;
      joined.kind = FusionKind::reduction;
      joined.shape.assign(resultShape->begin(), resultShape->end());
      groupOfOp[op] = *producer;
      note(op, "joined group #" + Twine(*producer) +
                   " (reduction): reduction fused with its elementwise producers");
      return;
    }
    note(op, "not fused into group #" + Twine(*producer) + ": " + reason);
  }
  unsigned id = newGroup(op, FusionKind::reduction, /*closed=*/!resultShape);
  groups[id].anchor = op;
  note(op, "started group #" + Twine(id) + " (reduction)");
}

void FusionAnalysis::visit(Operation *op) {
  switch (classify(op)) {
  case OpClass::Ignored:
    break;
  case OpClass::Elementwise:
    visitElementwise(op);
    break;
  case OpClass::Reduction:
    visitReduction(op);
    break;
  case OpClass::Contraction: {
    unsigned id = newGroup(op, FusionKind::contraction,
                           /*closed=*/!rankedShape(op->getResult(0).getType()));
    groups[id].anchor = op;
    note(op, "started group #" + Twine(id) + " (contraction)");
    break;
  }
  case OpClass::Attention: {
    unsigned id = newGroup(op, FusionKind::attention, /*closed=*/true);
    groups[id].anchor = op;
    note(op, "started single-op group #" + Twine(id) + " (attention): one ds.attention per kernel");
    break;
  }
  case OpClass::Single: {
    FusionKind kind = singleOpFusionKind(op);
    unsigned id = newGroup(op, kind, /*closed=*/true);
    note(op, "started single-op group #" + Twine(id) + " (" + stringifyFusionKind(kind) +
                 "): " + opNameWithKind(op) + " does not fuse");
    break;
  }
  }
  // Now that `op` has its group, it seals the producer groups it reads from
  // outside (constants have none).
  sealProducers(op);
}

void FusionAnalysis::run(Block &block) {
  for (Operation &op : block)
    visit(&op);
}

//===----------------------------------------------------------------------===//
// Materialization
//===----------------------------------------------------------------------===//

/// Replaces `ops` (one group, in block order) with a ds.fusion_group inserted
/// before the last of them.
void materialize(ArrayRef<Operation *> ops, FusionKind kind) {
  DenseSet<Operation *> members(ops.begin(), ops.end());
  auto isMember = [&](Operation *op) { return members.contains(op); };

  // Inputs: outside values in order of first use; cheap constants are cloned.
  llvm::SetVector<Value> inputs;
  SmallVector<ConstantOp> cloned;
  for (Operation *op : ops)
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (def && isMember(def))
        continue;
      auto constant = dyn_cast_or_null<ConstantOp>(def);
      if (constant && isCheapConstant(constant)) {
        if (!llvm::is_contained(cloned, constant))
          cloned.push_back(constant);
        continue;
      }
      inputs.insert(operand);
    }

  // Results: values used outside the group (extra results for multi-use).
  SmallVector<Value> results;
  for (Operation *op : ops)
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) { return !isMember(user); }))
        results.push_back(result);
  // A group of one op yields all of its results: its kernel writes every one
  // (the CUDA top-k sorts in its indices result even when only the values
  // are used). Dead code is kept the same way.
  if (ops.size() == 1 || results.empty()) {
    results.clear();
    llvm::append_range(results, ops.back()->getResults());
  }

  Operation *last = ops.back();
  OpBuilder builder(last);
  auto group = builder.create<FusionGroupOp>(last->getLoc(), ValueRange(results).getTypes(),
                                             inputs.getArrayRef(), kind);
  Block &body = group.getBody().front();
  IRMapping mapping;
  mapping.map(inputs.getArrayRef(), body.getArguments());
  builder.setInsertionPointToStart(&body);
  for (ConstantOp constant : cloned)
    builder.clone(*constant, mapping);
  for (Operation *op : ops)
    builder.clone(*op, mapping);
  SmallVector<Value> yielded;
  for (Value result : results)
    yielded.push_back(mapping.lookup(result));
  builder.create<YieldOp>(last->getLoc(), yielded);

  for (auto [result, replacement] : llvm::zip(results, group.getResults()))
    result.replaceUsesWithIf(replacement,
                             [&](OpOperand &use) { return !isMember(use.getOwner()); });
  for (Operation *op : llvm::reverse(ops))
    op->erase();
  for (ConstantOp constant : cloned)
    if (constant->use_empty())
      constant->erase();
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct FusePass : mlir::ds::impl::FusePassBase<FusePass> {
  using FusePassBase::FusePassBase;

  void runOnOperation() override {
    for (Block &block : getOperation().getBody())
      fuseBlock(block);
  }

  void fuseBlock(Block &block) {
    FusionAnalysis analysis(explain);
    analysis.run(block);

    // Members per root group, in block order; groups ordered by their last op,
    // which is where they are placed.
    llvm::MapVector<unsigned, SmallVector<Operation *>> members;
    for (Operation &op : block)
      if (std::optional<unsigned> id = analysis.groupOf(&op))
        members[*id].push_back(&op);
    SmallVector<std::pair<Operation *, unsigned>> byLast;
    for (auto &[id, ops] : members)
      byLast.push_back({ops.back(), id});
    DenseMap<Operation *, unsigned> position;
    for (auto [index, op] : llvm::enumerate(block))
      position[&op] = index;
    llvm::sort(byLast, [&](auto &a, auto &b) { return position[a.first] < position[b.first]; });

    for (auto [last, id] : byLast) {
      ArrayRef<Operation *> ops = members[id];
      materialize(ops, analysis.group(id).kind);
      ++numGroups;
      if (ops.size() > 1)
        numFusedOps += ops.size();
    }
  }
};

} // namespace
