//===- RematerializationPlan.h - schedules with recomputation ---*- C++ -*-===//
//
// The model ds-rematerialize searches over: @main's ops as a list of steps
// reading and writing values of known size, which it can reorder, and in
// which a value may be dropped after its last use before a chosen step and
// recomputed (its producers cloned) right before its first use after it.
// Peak bytes are the largest sum of values alive at one step, counted as
// the memory analysis counts them (block arguments and constants are not in
// the arena; outputs live to the end). Strategies build plans on this model;
// only the chosen one touches the IR.
//
#ifndef DS_LIB_DIALECT_DS_TRANSFORMS_REMATERIALIZATIONPLAN_H
#define DS_LIB_DIALECT_DS_TRANSFORMS_REMATERIALIZATIONPLAN_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <vector>

namespace mlir::ds::remat {

struct Graph {
  struct Node {
    Operation *op;                   ///< the op it runs (a clone runs a copy)
    llvm::SmallVector<int> operands; ///< value ids, in the op's operand order
    llvm::SmallVector<int> results;  ///< value ids
    double flops = 0;
    bool recomputable = false; ///< no side effects, not random, static sizes
    bool isClone = false;
  };
  struct Val {
    Value value;       ///< for an original value; null for a clone's
    uint64_t bytes = 0;
    bool free = false; ///< block argument or constant: never in the arena
    int def = -1;      ///< node index (-1 when free)
    int resultIndex = 0;
  };
  std::vector<Node> nodes;
  std::vector<Val> values;
  llvm::SmallVector<int> outputs; ///< value ids the terminator returns

  /// Nodes the plan recomputes (clones) and their operations.
  int numClones() const;
  double cloneFlops() const;
};

/// @main as a graph; false (and `error`) when it cannot be one: several
/// blocks, values of dynamic size.
bool buildGraph(func::FuncOp func, Graph &graph, std::string &error);

struct Peak {
  uint64_t bytes = 0;
  int step = 0;
};
/// Peak bytes alive and the first step reaching it; `live`, if given,
/// receives the bytes alive at every step (the terminator is the last).
Peak simulate(const Graph &graph, std::vector<uint64_t> *live = nullptr);

/// Values alive across `step` without being read there, whose producer can
/// be recomputed: the values a plan may drop at `step`, in program order.
std::vector<int> dropCandidates(const Graph &graph, int step);

/// Values that cut the program before `step` in two: at some step before
/// it, the value is the only one computed so far that steps up to `step`
/// still read (values computed from arguments and constants alone aside:
/// recomputing those needs nothing else). Keeping one alive bounds every
/// recomputation of what follows it: Chen's checkpoints, found in graphs
/// that are not chains (a transformer's residual stream between blocks).
/// In program order.
struct Separator {
  int value; ///< the value kept
  int step;  ///< the last step before which it is the only one read later
};
std::vector<Separator> separators(const Graph &graph, int step);

/// A plan: each group of values is dropped after their last use up to
/// `step` and recomputed together, once, right before the first use of any
/// of them after `step`; later uses read the recomputed values. Inputs of a
/// recomputation that are no longer alive there are recomputed as well
/// (back to values still alive, arguments, constants and the `pinned`
/// values, which are kept alive for it instead).
Graph applyDrops(const Graph &graph, int step, llvm::ArrayRef<llvm::SmallVector<int>> groups,
                 llvm::ArrayRef<int> pinned = {});

/// A topological order that keeps less alive: list scheduling that runs the
/// ready step freeing the most bytes (net of what it allocates) first, ties
/// in the current order.
Graph scheduleForMemory(const Graph &graph);

/// Rewrites `func`'s body to the graph's order and clones.
void materialize(func::FuncOp func, const Graph &graph);

} // namespace mlir::ds::remat

#endif // DS_LIB_DIALECT_DS_TRANSFORMS_REMATERIALIZATIONPLAN_H
