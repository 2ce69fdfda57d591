//===- Rematerialize.cpp - recompute instead of keeping alive, under a budget ===//
#include "RematerializationPlan.h"

#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/Format.h"

#include <cmath>

#define DEBUG_TYPE "ds-rematerialize"

namespace mlir::ds {
#define GEN_PASS_DEF_REMATERIALIZEPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::remat;

namespace {
/// "64KB" (1000s), "1.5MiB" (1024s), "4096": bytes; nullopt when malformed.
std::optional<uint64_t> parseBytes(llvm::StringRef text) {
  text = text.trim();
  size_t digits = text.find_first_not_of("0123456789.eE+");
  llvm::StringRef number = text.take_front(digits), unit = text.drop_front(number.size()).trim();
  double value;
  if (number.empty() || number.getAsDouble(value) || value < 0)
    return std::nullopt;
  static const std::pair<const char *, double> units[] = {
      {"", 1},         {"B", 1},          {"KB", 1e3},         {"MB", 1e6},
      {"GB", 1e9},     {"KiB", 1024.0},   {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
  for (auto [name, scale] : units)
    if (unit.equals_insensitive(name))
      return (uint64_t)std::llround(value * scale);
  return std::nullopt;
}

std::string formatted(const char *spec, double value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(spec, value);
  return text;
}

std::string human(uint64_t bytes) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (bytes >= 1000000)
    os << llvm::format("%.2f MB", bytes / 1e6);
  else if (bytes >= 1000)
    os << llvm::format("%.1f KB", bytes / 1e3);
  else
    os << bytes << " bytes";
  return text;
}

/// The runs of consecutive dropped values in `candidates` (kept[i] false):
/// each run is recomputed together.
llvm::SmallVector<llvm::SmallVector<int>> dropRuns(llvm::ArrayRef<int> candidates,
                                                    llvm::ArrayRef<bool> kept) {
  llvm::SmallVector<llvm::SmallVector<int>> runs;
  bool open = false;
  for (auto [value, keep] : llvm::zip(candidates, kept)) {
    if (keep) {
      open = false;
      continue;
    }
    if (!open)
      runs.emplace_back();
    runs.back().push_back(value);
    open = true;
  }
  return runs;
}

struct Plan {
  Graph graph;
  Peak peak;
  double flops = 0;
};

Plan evaluate(Graph graph) {
  Plan plan;
  plan.peak = simulate(graph);
  plan.flops = graph.cloneFlops();
  plan.graph = std::move(graph);
  return plan;
}

/// The better of two plans: one fitting the budget with less recomputation
/// (then a lower peak); without a budget, the lower peak (then less
/// recomputation).
bool better(const Plan &a, const Plan &b, uint64_t budget) {
  if (budget) {
    bool fitsA = a.peak.bytes <= budget, fitsB = b.peak.bytes <= budget;
    if (fitsA != fitsB)
      return fitsA;
    if (fitsA && a.flops != b.flops)
      return a.flops < b.flops;
  }
  if (a.peak.bytes != b.peak.bytes)
    return a.peak.bytes < b.peak.bytes;
  return a.flops < b.flops;
}

/// Greedy: drop the one value that lowers the current peak most, again and
/// again. Candidates are tried largest first, at most `kWidth` per round.
Plan greedy(const Graph &start, uint64_t budget) {
  constexpr size_t kWidth = 24;
  Plan current = evaluate(start);
  for (size_t round = 0; round < 4 * start.values.size() + 8; ++round) {
    if (budget && current.peak.bytes <= budget)
      break;
    std::vector<int> candidates = dropCandidates(current.graph, current.peak.step);
    std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) {
      return current.graph.values[a].bytes > current.graph.values[b].bytes;
    });
    if (candidates.size() > kWidth)
      candidates.resize(kWidth);
    std::optional<Plan> best;
    for (int value : candidates) {
      llvm::SmallVector<int> group{value};
      Plan plan = evaluate(applyDrops(current.graph, current.peak.step, {group}));
      if (plan.peak.bytes < current.peak.bytes && (!best || better(plan, *best, 0)))
        best = std::move(plan);
    }
    if (!best)
      break;
    current = std::move(*best);
  }
  return current;
}

/// What the segment plans of one program share: the values alive across
/// its peak, its separators, and the bytes of those values computed up to
/// each step.
struct SegmentSearch {
  Peak peak;
  std::vector<int> candidates;
  std::vector<Separator> cuts;
  std::vector<uint64_t> upTo; ///< upTo[i]: bytes of candidates defined at steps < i
  uint64_t total = 0;

  explicit SegmentSearch(const Graph &start)
      : peak(simulate(start)), candidates(dropCandidates(start, peak.step)),
        cuts(separators(start, peak.step)), upTo(start.nodes.size() + 1, 0) {
    for (int value : candidates) {
      upTo[start.values[value].def + 1] += start.values[value].bytes;
      total += start.values[value].bytes;
    }
    for (size_t i = 1; i < upTo.size(); ++i)
      upTo[i] += upTo[i - 1];
  }
};

/// Segments between checkpoints at the program's separators: `segments`
/// runs of about equal bytes of the values alive across the peak, each
/// dropped and recomputed from the checkpoint before it (kept alive for
/// that); the last `undropped` runs are kept (the backward reads them
/// first: recomputing them right away buys nothing). A value computed up to
/// a cut's step belongs to the run before it (its recomputation may read
/// what the cut separates from the rest). Nullopt when the program has too
/// few separators for that many segments.
std::optional<Plan> segmentPlan(const Graph &start, const SegmentSearch &search, size_t segments,
                                size_t undropped) {
  if (segments < 2 || segments > search.cuts.size() + 1)
    return std::nullopt;
  llvm::SmallVector<Separator> kept;
  for (const Separator &cut : search.cuts) {
    uint64_t due = search.total * (kept.size() + 1) / segments;
    if (kept.size() + 1 < segments && search.upTo[cut.step + 1] >= due)
      kept.push_back(cut);
  }
  if (kept.size() + 1 < segments)
    return std::nullopt;
  llvm::SmallVector<int> checkpoints;
  for (const Separator &cut : kept)
    checkpoints.push_back(cut.value);
  llvm::SmallVector<llvm::SmallVector<int>> runs(kept.size() + 1);
  for (int value : search.candidates) {
    if (llvm::is_contained(checkpoints, value))
      continue;
    size_t run = 0;
    while (run < kept.size() && kept[run].step < start.values[value].def)
      ++run;
    runs[run].push_back(value);
  }
  runs.resize(runs.size() - std::min(undropped, runs.size()));
  llvm::erase_if(runs, [](const llvm::SmallVector<int> &run) { return run.empty(); });
  return evaluate(applyDrops(start, search.peak.step, runs, checkpoints));
}

/// Every ⌈√k⌉-th of the k values alive across the peak kept, the rest
/// dropped in runs: a chain's checkpoints. In other programs a kept value
/// may not cut anything, and recomputations reach back further.
Plan chainCheckpoints(const Graph &start) {
  Peak peak = simulate(start);
  std::vector<int> candidates = dropCandidates(start, peak.step);
  if (candidates.size() < 2)
    return evaluate(start);
  size_t every = (size_t)std::ceil(std::sqrt((double)candidates.size()));
  llvm::SmallVector<bool> kept;
  for (size_t i = 0; i < candidates.size(); ++i)
    kept.push_back(i % every == every - 1);
  return evaluate(applyDrops(start, peak.step, dropRuns(candidates, kept)));
}

/// The segment plan fitting `budget` with the least recomputation (without
/// a budget: the lowest peak), over every number of segments the separators
/// allow.
std::optional<Plan> budgetedSegments(const Graph &start, uint64_t budget) {
  SegmentSearch search(start);
  std::optional<Plan> best;
  // Bounded: a few hundred plans, each a pass over the graph.
  constexpr size_t kMostSegments = 64, kMostUndropped = 8;
  for (size_t segments = 2; segments <= std::min(search.cuts.size() + 1, kMostSegments);
       ++segments)
    for (size_t undropped = 0; undropped < std::min(segments, kMostUndropped); ++undropped)
      if (std::optional<Plan> plan = segmentPlan(start, search, segments, undropped))
        if (!best || better(*plan, *best, budget))
          best = std::move(*plan);
  return best;
}

/// Chen's √n: where the program has separators (a residual stream),
/// segments between them, each recomputed once from the checkpoint before
/// it, with the number of segments (about √m of m separators for equal
/// layers; segments here are of equal bytes, not equal count) and of kept
/// last segments that peak lowest; without separators, chainCheckpoints.
Plan sqrtCheckpoints(const Graph &start) {
  if (std::optional<Plan> plan = budgetedSegments(start, 0))
    return std::move(*plan);
  return chainCheckpoints(start);
}

/// Under a budget, the cheapest plan fitting it among greedy, greedy from
/// the √n and the chain plans (single drops can stall above a budget that
/// whole segments meet) and the segment plans (which recompute each value
/// once where greedy's single drops recompute long chains); greedy alone
/// when it fits without recomputing anything. Without a budget, the lowest
/// peak among the same.
Plan budgetedPlan(const Graph &start, uint64_t budget) {
  Plan plan = greedy(start, budget);
  if (budget && plan.peak.bytes <= budget && plan.flops == 0)
    return plan;
  for (Plan root : {sqrtCheckpoints(start), chainCheckpoints(start)}) {
    Plan refined = greedy(root.graph, budget);
    if (better(refined, plan, budget))
      plan = std::move(refined);
  }
  if (std::optional<Plan> segmented = budgetedSegments(start, budget))
    if (better(*segmented, plan, budget))
      plan = std::move(*segmented);
  return plan;
}
} // namespace

namespace {
struct RematerializePass : ds::impl::RematerializePassBase<RematerializePass> {
  using RematerializePassBase::RematerializePassBase;

  static constexpr size_t kMaxOptimalCandidates = 14;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<uint64_t> limit = budget.empty() ? std::optional<uint64_t>(0) : parseBytes(budget);
    if (!limit) {
      module.emitError("ds-rematerialize: budget '")
          << budget << "' is not a size (e.g. 1000000, 64KB, 1.5MiB)";
      return signalPassFailure();
    }
    if (strategy != "greedy" && strategy != "sqrt" && strategy != "optimal") {
      module.emitError("ds-rematerialize: strategy must be greedy, sqrt or optimal, not '")
          << strategy << "'";
      return signalPassFailure();
    }
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main) {
      module.emitError("ds-rematerialize: no func.func @main");
      return signalPassFailure();
    }
    Graph graph;
    std::string error;
    if (!buildGraph(main, graph, error)) {
      main.emitError("ds-rematerialize: ") << error;
      return signalPassFailure();
    }
    Plan original = evaluate(graph);
    if (*limit && original.peak.bytes <= *limit) {
      if (report)
        main.emitRemark("ds-rematerialize: peak ")
            << human(original.peak.bytes) << " already fits the budget of " << human(*limit);
      return markAllAnalysesPreserved();
    }
    Plan start = original;
    if (schedule) {
      Plan scheduled = evaluate(scheduleForMemory(graph));
      if (scheduled.peak.bytes < start.peak.bytes)
        start = std::move(scheduled);
    }
    std::optional<Plan> chosen = run(start, *limit, main);
    if (!chosen)
      return signalPassFailure();
    if (*limit && chosen->peak.bytes > *limit) {
      reportInfeasible(main, start, *limit);
      return signalPassFailure();
    }
    if (chosen->peak.bytes >= original.peak.bytes) {
      if (report)
        main.emitRemark("ds-rematerialize: no plan lowers the peak of ")
            << human(original.peak.bytes) << " (strategy=" << strategy << ")";
      return markAllAnalysesPreserved();
    }
    materialize(main, chosen->graph);
    if (report)
      main.emitRemark("ds-rematerialize: peak ")
          << human(original.peak.bytes) << " -> " << human(chosen->peak.bytes) << " (strategy="
          << strategy << "), " << chosen->graph.numClones() << " ops recomputed, "
          << formatted("%.0f", chosen->flops) << " FLOP more per run ("
          << formatted("%.1f", 100.0 * chosen->flops / std::max(1.0, totalFlops(original.graph)))
          << "% of " << formatted("%.0f", totalFlops(original.graph)) << ")";
  }

  static double totalFlops(const Graph &graph) {
    double total = 0;
    for (const Graph::Node &node : graph.nodes)
      total += node.flops;
    return total;
  }

  std::optional<Plan> run(const Plan &start, uint64_t limit, func::FuncOp main) {
    if (strategy == "greedy")
      return limit ? budgetedPlan(start.graph, limit) : greedy(start.graph, 0);
    if (strategy == "sqrt")
      return sqrtCheckpoints(start.graph);
    // optimal: every subset of what is alive across the peak.
    std::vector<int> candidates = dropCandidates(start.graph, start.peak.step);
    if (candidates.size() > kMaxOptimalCandidates) {
      main.emitError("ds-rematerialize: strategy=optimal is for small graphs: ")
          << candidates.size() << " values are alive across the peak (at most "
          << kMaxOptimalCandidates << "); use greedy or sqrt";
      return std::nullopt;
    }
    // Never worse than the greedy strategy's plan nor √n's.
    Plan best = limit ? budgetedPlan(start.graph, limit) : greedy(start.graph, 0);
    Plan root = sqrtCheckpoints(start.graph);
    if (better(root, best, limit))
      best = std::move(root);
    for (uint32_t mask = 0; mask < (1u << candidates.size()); ++mask) {
      llvm::SmallVector<bool> kept;
      for (size_t i = 0; i < candidates.size(); ++i)
        kept.push_back(mask & (1u << i));
      Plan plan = evaluate(applyDrops(start.graph, start.peak.step, dropRuns(candidates, kept)));
      if (better(plan, best, limit))
        best = std::move(plan);
    }
    return best;
  }

  /// The smallest peak any strategy reaches, and a bound no schedule beats:
  /// a step's own operands and results are alive together.
  void reportInfeasible(func::FuncOp main, const Plan &start, uint64_t limit) {
    Plan lowest = budgetedPlan(start.graph, 0);
    const char *how = "greedy";
    Plan root = sqrtCheckpoints(start.graph);
    if (root.peak.bytes < lowest.peak.bytes) {
      lowest = std::move(root);
      how = "sqrt";
    }
    uint64_t bound = 0;
    Operation *widest = nullptr;
    for (const Graph::Node &node : start.graph.nodes) {
      uint64_t together = 0;
      for (int value : node.operands)
        if (!start.graph.values[value].free)
          together += start.graph.values[value].bytes;
      for (int value : node.results)
        together += start.graph.values[value].bytes;
      if (together > bound) {
        bound = together;
        widest = node.op;
      }
    }
    InFlightDiagnostic diag = main.emitError("ds-rematerialize: the budget of ")
                              << human(limit) << " (" << limit
                              << " bytes) cannot be met: the smallest peak found is "
                              << human(lowest.peak.bytes) << " (" << lowest.peak.bytes
                              << " bytes, strategy=" << how << "); give a budget of at least "
                              << lowest.peak.bytes << " bytes";
    if (widest)
      diag.attachNote(widest->getLoc())
          << "no schedule goes below " << bound << " bytes: this "
          << widest->getName().getStringRef() << " reads and writes that much at once";
  }
};
} // namespace
