//===- RematerializationPlan.cpp - schedules with recomputation -----------===//
#include "RematerializationPlan.h"

#include "ds/Dialect/DS/Analysis/CostModel.h"
#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <algorithm>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::remat;

int Graph::numClones() const {
  return (int)llvm::count_if(nodes, [](const Node &node) { return node.isClone; });
}

double Graph::cloneFlops() const {
  double total = 0;
  for (const Node &node : nodes)
    if (node.isClone)
      total += node.flops;
  return total;
}

/// Ops that are never recomputed: those with side effects, and random
/// generators (an op carrying a seed), whose second run would differ.
static bool isRecomputable(Operation *op) {
  if (op->hasAttr("seed") || !isMemoryEffectFree(op))
    return false;
  return op->getNumRegions() == 0 || isa<FusionGroupOp>(op);
}

bool remat::buildGraph(func::FuncOp func, Graph &graph, std::string &error) {
  if (func.isExternal() || !func.getBody().hasOneBlock()) {
    error = "@" + func.getSymName().str() + " must have one block";
    return false;
  }
  Block &body = func.getBody().front();
  llvm::DenseMap<Value, int> ids;
  auto addFree = [&](Value value) {
    ids[value] = (int)graph.values.size();
    Graph::Val val;
    val.value = value;
    val.free = true;
    graph.values.push_back(val);
  };
  for (BlockArgument arg : body.getArguments())
    addFree(arg);
  for (Operation &op : body.without_terminator()) {
    if (isa<ConstantOp>(op)) {
      addFree(op.getResult(0));
      continue;
    }
    Graph::Node node;
    node.op = &op;
    std::optional<OpCost> cost = estimateCost(&op);
    node.flops = cost ? cost->flops : 0;
    node.recomputable = isRecomputable(&op);
    for (Value operand : op.getOperands())
      node.operands.push_back(ids.lookup(operand));
    for (OpResult result : op.getResults()) {
      std::optional<uint64_t> bytes = storageBytes(result.getType());
      if (!bytes) {
        error = "a value has dynamic dims (bind them with --ds-input-shape): its size, and "
                "the peak, are only known at run time";
        return false;
      }
      ids[result] = (int)graph.values.size();
      Graph::Val val;
      val.value = result;
      val.bytes = *bytes;
      val.def = (int)graph.nodes.size();
      val.resultIndex = (int)result.getResultNumber();
      node.results.push_back(ids[result]);
      graph.values.push_back(val);
    }
    graph.nodes.push_back(std::move(node));
  }
  for (Value output : body.getTerminator()->getOperands())
    graph.outputs.push_back(ids.lookup(output));
  return true;
}

/// The last step reading each value (the terminator's step for outputs;
/// the defining step for values nothing reads).
static std::vector<int> lastUses(const Graph &graph) {
  std::vector<int> last(graph.values.size(), -1);
  for (auto [i, value] : llvm::enumerate(graph.values))
    last[i] = value.def;
  for (auto [i, node] : llvm::enumerate(graph.nodes))
    for (int operand : node.operands)
      last[operand] = std::max(last[operand], (int)i);
  for (int output : graph.outputs)
    last[output] = (int)graph.nodes.size();
  return last;
}

Peak remat::simulate(const Graph &graph, std::vector<uint64_t> *live) {
  int steps = (int)graph.nodes.size();
  std::vector<int> last = lastUses(graph);
  std::vector<int64_t> delta(steps + 2, 0);
  for (auto [i, value] : llvm::enumerate(graph.values)) {
    if (value.free)
      continue;
    delta[value.def] += (int64_t)value.bytes;
    delta[last[i] + 1] -= (int64_t)value.bytes;
  }
  Peak peak;
  int64_t alive = 0;
  if (live)
    live->assign(steps + 1, 0);
  for (int i = 0; i <= steps; ++i) {
    alive += delta[i];
    if (live)
      (*live)[i] = (uint64_t)alive;
    if ((uint64_t)alive > peak.bytes) {
      peak.bytes = (uint64_t)alive;
      peak.step = i;
    }
  }
  return peak;
}

std::vector<int> remat::dropCandidates(const Graph &graph, int step) {
  std::vector<int> last = lastUses(graph);
  llvm::SmallVector<int> readHere;
  if (step < (int)graph.nodes.size())
    readHere = graph.nodes[step].operands;
  std::vector<int> candidates;
  for (auto [i, value] : llvm::enumerate(graph.values)) {
    if (value.free || value.bytes == 0 || value.def >= step || last[i] <= step)
      continue;
    if (!graph.nodes[value.def].recomputable || llvm::is_contained(readHere, (int)i))
      continue;
    candidates.push_back((int)i);
  }
  return candidates;
}

std::vector<Separator> remat::separators(const Graph &graph, int step) {
  int steps = std::min(step, (int)graph.nodes.size());
  // Free, or computed by one op from free values (a transposed weight): not
  // a dependence to cut, its recomputation reaches nothing else.
  std::vector<bool> fromFree(graph.values.size(), false);
  for (auto [i, value] : llvm::enumerate(graph.values))
    fromFree[i] = value.free;
  for (const Graph::Node &node : graph.nodes) {
    bool leaf = llvm::all_of(node.operands,
                             [&](int operand) { return graph.values[operand].free; });
    for (int result : node.results)
      fromFree[result] = leaf;
  }
  std::vector<int> lastRead(graph.values.size(), -1);
  for (int i = 0; i <= steps && i < (int)graph.nodes.size(); ++i)
    for (int operand : graph.nodes[i].operands)
      lastRead[operand] = std::max(lastRead[operand], i);
  std::vector<llvm::SmallVector<int>> closing(steps + 1);
  for (auto [i, value] : llvm::enumerate(graph.values))
    if (!fromFree[i] && value.def >= 0 && value.def < steps && lastRead[i] > value.def)
      closing[lastRead[i]].push_back((int)i);
  std::vector<Separator> cuts;
  std::set<int> open;
  for (int i = 0; i < steps; ++i) {
    for (int value : closing[i])
      open.erase(value);
    int leaf = -1; // a leaf read later: with nothing else open, it is the cut
    for (int result : graph.nodes[i].results) {
      if (lastRead[result] <= i)
        continue;
      if (!fromFree[result])
        open.insert(result);
      else if (!graph.values[result].free)
        leaf = result;
    }
    int cut = open.size() == 1 ? *open.begin() : open.empty() ? leaf : -1;
    if (cut < 0)
      continue;
    if (!cuts.empty() && cuts.back().value == cut)
      cuts.back().step = i; // values computed up to here recompute before the cut
    else
      cuts.push_back({cut, i});
  }
  return cuts;
}

namespace {
/// Builds the graph of one plan (see applyDrops).
class DropPlanBuilder {
public:
  DropPlanBuilder(const Graph &graph, int step, llvm::ArrayRef<llvm::SmallVector<int>> groups,
                  llvm::ArrayRef<int> pinned)
      : in(graph), step(step), last(lastUses(graph)), groupOf(graph.values.size(), -1),
        pinned(graph.values.size(), false), memo(groups.size()),
        insertAt(groups.size(), INT32_MAX), groups(groups) {
    for (int value : pinned)
      this->pinned[value] = true;
    int steps = (int)graph.nodes.size();
    std::vector<int> firstLate(graph.values.size(), INT32_MAX), lastLate(graph.values.size(), -1);
    auto noteUse = [&](int value, int at) {
      if (at <= step)
        return;
      firstLate[value] = std::min(firstLate[value], at);
      lastLate[value] = std::max(lastLate[value], at);
    };
    for (auto [i, node] : llvm::enumerate(graph.nodes))
      for (int operand : node.operands)
        noteUse(operand, (int)i);
    for (int output : graph.outputs)
      noteUse(output, steps);
    lateEnd = std::move(lastLate);
    for (auto [g, group] : llvm::enumerate(groups))
      for (int value : group) {
        groupOf[value] = (int)g;
        insertAt[g] = std::min(insertAt[g], firstLate[value]);
      }
  }

  Graph build() {
    out.values = in.values;
    int steps = (int)in.nodes.size();
    std::vector<int> order(groups.size());
    for (size_t g = 0; g < groups.size(); ++g)
      order[g] = (int)g;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return insertAt[a] < insertAt[b]; });
    size_t next = 0;
    for (int i = 0; i <= steps; ++i) {
      for (; next < order.size() && insertAt[order[next]] == i; ++next)
        for (int value : groups[order[next]])
          cloneValue(value, order[next], i, 0);
      if (i == steps)
        break;
      Graph::Node node = in.nodes[i];
      for (int &operand : node.operands)
        operand = readAt(operand, i);
      out.nodes.push_back(std::move(node));
      for (int result : out.nodes.back().results)
        out.values[result].def = (int)out.nodes.size() - 1;
    }
    for (int &output : out.outputs = in.outputs)
      output = readAt(output, steps);
    pruneDeadNodes();
    return std::move(out);
  }

private:
  /// The value a step `at` reads for `value`: its recomputed copy after the
  /// plan's step when it is dropped.
  int readAt(int value, int at) {
    int g = groupOf[value];
    if (g < 0 || at <= step)
      return value;
    return memo[g].at(value);
  }

  /// `value`, as available at step `at` for group `g`'s recomputation.
  int cloneValue(int value, int g, int at, int depth) {
    if (auto it = memo[g].find(value); it != memo[g].end())
      return it->second;
    const Graph::Val &val = in.values[value];
    if (val.free)
      return value;
    int owner = groupOf[value];
    if (owner >= 0 && owner != g && insertAt[owner] <= at && at <= lateEnd[value])
      if (auto it = memo[owner].find(value); it != memo[owner].end())
        return it->second; // another group's copy, alive here anyway
    bool dropped = owner >= 0;
    if (!dropped && (last[value] >= at || pinned[value]))
      return value; // still alive here, or kept alive for this read
    const Graph::Node &producer = in.nodes[val.def];
    if (!dropped && (!producer.recomputable || depth > kMaxDepth))
      return value; // kept alive longer instead
    Graph::Node copy = producer;
    copy.isClone = true;
    for (int &operand : copy.operands)
      operand = cloneValue(operand, g, at, depth + 1);
    copy.results.clear();
    for (int result : producer.results) {
      Graph::Val fresh = in.values[result];
      fresh.value = Value();
      fresh.def = (int)out.nodes.size();
      copy.results.push_back((int)out.values.size());
      memo[g][result] = (int)out.values.size();
      out.values.push_back(fresh);
    }
    out.nodes.push_back(std::move(copy));
    return memo[g].at(value);
  }

  /// Originals whose every use moved to a copy (a value first read after
  /// the plan's step) are not computed twice.
  void pruneDeadNodes() {
    std::vector<int> uses(out.values.size(), 0);
    for (const Graph::Node &node : out.nodes)
      for (int operand : node.operands)
        ++uses[operand];
    for (int output : out.outputs)
      ++uses[output];
    std::vector<bool> dead(out.nodes.size(), false);
    for (int i = (int)out.nodes.size() - 1; i >= 0; --i) {
      const Graph::Node &node = out.nodes[i];
      if (!node.recomputable ||
          llvm::any_of(node.results, [&](int result) { return uses[result] > 0; }))
        continue;
      dead[i] = true;
      for (int operand : node.operands)
        --uses[operand];
    }
    if (llvm::none_of(dead, [](bool d) { return d; }))
      return;
    std::vector<Graph::Node> kept;
    for (auto [i, node] : llvm::enumerate(out.nodes)) {
      if (dead[i]) { // its results no longer exist: nothing to count
        for (int result : node.results) {
          out.values[result].free = true;
          out.values[result].bytes = 0;
          out.values[result].def = -1;
        }
        continue;
      }
      for (int result : node.results)
        out.values[result].def = (int)kept.size();
      kept.push_back(std::move(node));
    }
    out.nodes = std::move(kept);
  }

  static constexpr int kMaxDepth = 64;
  const Graph &in;
  int step;
  std::vector<int> last, lateEnd;
  std::vector<int> groupOf;
  std::vector<bool> pinned;
  std::vector<std::map<int, int>> memo;
  std::vector<int> insertAt;
  llvm::ArrayRef<llvm::SmallVector<int>> groups;
  Graph out;
};
} // namespace

Graph remat::applyDrops(const Graph &graph, int step,
                        llvm::ArrayRef<llvm::SmallVector<int>> groups,
                        llvm::ArrayRef<int> pinned) {
  return DropPlanBuilder(graph, step, groups, pinned).build();
}

Graph remat::scheduleForMemory(const Graph &graph) {
  int steps = (int)graph.nodes.size();
  std::vector<int> pending(steps, 0), uses(graph.values.size(), 0);
  std::vector<llvm::SmallVector<int>> readers(graph.values.size());
  for (auto [i, node] : llvm::enumerate(graph.nodes))
    for (int operand : node.operands) {
      ++uses[operand];
      if (llvm::is_contained(readers[operand], (int)i))
        continue; // a step waits once for a value it reads twice
      readers[operand].push_back((int)i);
      if (graph.values[operand].def >= 0)
        ++pending[i];
    }
  std::vector<bool> isOutput(graph.values.size(), false);
  for (int output : graph.outputs)
    isOutput[output] = true;
  std::vector<int> ready;
  for (int i = 0; i < steps; ++i)
    if (pending[i] == 0)
      ready.push_back(i);

  // Net bytes a step frees: operands it reads for the last time, minus
  // what it allocates.
  auto score = [&](int i) {
    const Graph::Node &node = graph.nodes[i];
    int64_t net = 0;
    llvm::SmallVector<int> seen;
    for (int operand : node.operands) {
      if (llvm::is_contained(seen, operand))
        continue;
      seen.push_back(operand);
      const Graph::Val &value = graph.values[operand];
      int here = (int)llvm::count(node.operands, operand);
      if (!value.free && !isOutput[operand] && uses[operand] == here)
        net += (int64_t)value.bytes;
    }
    for (int result : node.results)
      net -= (int64_t)graph.values[result].bytes;
    return net;
  };

  Graph out;
  out.values = graph.values;
  out.outputs = graph.outputs;
  while (!ready.empty()) {
    auto best = std::max_element(ready.begin(), ready.end(), [&](int a, int b) {
      int64_t sa = score(a), sb = score(b);
      return sa != sb ? sa < sb : a > b;
    });
    int chosen = *best;
    ready.erase(best);
    const Graph::Node &node = graph.nodes[chosen];
    for (int operand : node.operands)
      --uses[operand];
    for (int result : node.results) {
      out.values[result].def = (int)out.nodes.size();
      for (int reader : readers[result])
        if (--pending[reader] == 0)
          ready.push_back(reader);
    }
    out.nodes.push_back(node);
  }
  return out;
}

void remat::materialize(func::FuncOp func, const Graph &graph) {
  Block &body = func.getBody().front();
  Operation *terminator = body.getTerminator();
  std::vector<Value> values(graph.values.size());
  for (auto [i, value] : llvm::enumerate(graph.values))
    values[i] = value.value;
  llvm::DenseSet<Operation *> kept;
  OpBuilder builder(terminator);
  for (const Graph::Node &node : graph.nodes) {
    Operation *op = node.op;
    if (node.isClone) {
      op = builder.clone(*node.op);
    } else {
      op->moveBefore(terminator);
      kept.insert(op);
    }
    for (auto [k, operand] : llvm::enumerate(node.operands))
      op->setOperand(k, values[operand]);
    for (auto [k, result] : llvm::enumerate(node.results))
      values[result] = op->getResult(k);
  }
  for (auto [k, output] : llvm::enumerate(graph.outputs))
    terminator->setOperand(k, values[output]);
  // Originals the plan no longer runs (all their readers moved to copies);
  // in reverse, so that a chain of them goes reader first.
  llvm::SmallVector<Operation *> dropped;
  for (Operation &op : body.without_terminator())
    if (!isa<ConstantOp>(op) && !kept.contains(&op))
      dropped.push_back(&op);
  for (Operation *op : llvm::reverse(dropped))
    if (op->use_empty())
      op->erase();
}
