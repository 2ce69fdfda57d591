//===- CostReport.cpp - FLOPs, bytes, roofline time and memory of @main ---===//
#include "ds/Dialect/DS/Analysis/CostModel.h"
#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"
#include "ds/Support/OutputFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>

namespace mlir::ds {
#define GEN_PASS_DEF_COSTREPORTPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
std::string nodeName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().getValue().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location part : fused.getLocations())
      if (std::string name = nodeName(part); !name.empty())
        return name;
  return "";
}

/// `ds.binary 'fc1/Add'`: the op, and the ONNX node its location names.
std::string describe(Operation *op) {
  std::string text = op->getName().getStringRef().str();
  if (auto group = dyn_cast<FusionGroupOp>(op))
    text += " " + stringifyFusionKind(group.getKind()).str();
  if (std::string name = nodeName(op->getLoc()); !name.empty())
    text += " '" + name + "'";
  return text;
}

std::string human(double value, const char *unit) {
  const char *prefixes[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (value >= 1000 && i < 5) {
    value /= 1000;
    ++i;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(i ? "%.2f %s%s" : "%.0f %s%s", value, prefixes[i], unit);
  return text;
}

std::string milliseconds(double seconds) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(seconds >= 1e-3 ? "%.2f ms" : "%.4f ms", seconds * 1e3);
  return text;
}

/// One step of @main and what it costs.
struct Step {
  Operation *op;
  std::optional<OpCost> cost;
};

struct CostReportPass : ds::impl::CostReportPassBase<CostReportPass> {
  using CostReportPassBase::CostReportPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (format != "text" && format != "json") {
      module.emitError("ds-cost-report: format must be text or json, not '") << format << "'";
      return signalPassFailure();
    }
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal() || !main.getBody().hasOneBlock()) {
      module.emitError("ds-cost-report: no func.func @main with one block");
      return signalPassFailure();
    }
    const MemoryAnalysis &memory = getChildAnalysis<MemoryAnalysis>(main);
    if (!memory.isValid()) {
      main.emitError("ds-cost-report: ") << memory.error();
      return signalPassFailure();
    }
    cpu = hostCpu(threads, cpuGbps);
    if (cpuGflops > 0) { // keep the unit ratios, fix the f32 peak
      double scale = cpuGflops * 1e9 / cpu.f32;
      for (double *rate : {&cpu.f32, &cpu.f16, &cpu.fp8, &cpu.int8, &cpu.f64})
        *rate *= scale;
    }
    gpu = h200();
    for (Operation &op : main.getBody().front())
      if (!isa<ConstantOp>(op) && !op.hasTrait<OpTrait::IsTerminator>())
        steps.push_back({&op, estimateCost(&op)});

    std::string previous;
    if (append && outputFile != "-")
      if (auto file = llvm::MemoryBuffer::getFile(outputFile.getValue()))
        previous = (*file)->getBuffer().str();
    if (llvm::Error e = writeFileAtomically(outputFile, [&](llvm::raw_fd_ostream &os) {
          os << previous;
          if (format == "json")
            writeJson(os, main, memory);
          else
            writeText(os, main, memory);
          return llvm::Error::success();
        })) {
      module.emitError("ds-cost-report: cannot write '")
          << outputFile << "': " << llvm::toString(std::move(e));
      return signalPassFailure();
    }
    markAllAnalysesPreserved();
  }

  OpCost total(int64_t *unknown = nullptr) const {
    OpCost sum;
    for (const Step &step : steps) {
      if (!step.cost) {
        if (unknown)
          ++*unknown;
        continue;
      }
      sum.flops += step.cost->flops;
      sum.bytesRead += step.cost->bytesRead;
      sum.bytesWritten += step.cost->bytesWritten;
    }
    return sum;
  }

  double seconds(const Machine &machine) const {
    double sum = 0;
    for (const Step &step : steps)
      if (step.cost)
        sum += machine.seconds(*step.cost);
    return sum;
  }

  void writeText(raw_ostream &os, func::FuncOp main, const MemoryAnalysis &memory) {
    int64_t unknown = 0;
    OpCost sum = total(&unknown);
    os << "cost of @" << main.getSymName();
    if (!stage.empty())
      os << " (stage: " << stage << ")";
    os << ": " << steps.size() << " steps, " << human(sum.flops, "FLOP") << ", "
       << human(sum.bytes(), "B") << " moved\n";
    if (unknown)
      os << "  " << unknown << " steps of dynamic size not counted (bind dims with "
         << "--ds-input-shape)\n";
    os << "  roofline: cpu " << milliseconds(seconds(cpu)) << " (" << cpu.name << ": "
       << human(cpu.f32, "FLOP/s") << " f32, " << human(cpu.bandwidth, "B/s") << "), gpu "
       << milliseconds(seconds(gpu)) << " (" << gpu.name << ")\n";
    os << "  memory: ";
    if (memory.isPlanned())
      os << "peak " << human(memory.getPeakBytes(), "B") << " at step " << memory.getPeakStep()
         << " (" << describe(memory.getStep(memory.getPeakStep())) << "), arena "
         << human(memory.getArenaBytes(), "B") << ", intermediates "
         << human(memory.getIntermediateBytes(), "B") << "\n";
    else
      os << "planned per input shape at run time; values of static size peak at "
         << human(memory.getPeakBytes(), "B") << "\n";

    std::vector<const Step *> costly;
    for (const Step &step : steps)
      if (step.cost)
        costly.push_back(&step);
    std::stable_sort(costly.begin(), costly.end(), [&](const Step *a, const Step *b) {
      return cpu.seconds(*a->cost) > cpu.seconds(*b->cost);
    });
    if (!costly.empty()) {
      os << "  most expensive steps (cpu roofline):\n";
      for (const Step *step : llvm::ArrayRef(costly).take_front(top)) {
        const OpCost &cost = *step->cost;
        os << "    " << llvm::format("%-10s", milliseconds(cpu.seconds(cost)).c_str()) << " "
           << llvm::format("%-12s", human(cost.flops, "FLOP").c_str()) << " "
           << llvm::format("%-10s", human(cost.bytes(), "B").c_str()) << " "
           << (cpu.computeBound(cost) ? "compute" : "memory ") << "  "
           << stringifyArithmeticKind(cost.kind) << "  " << describe(step->op) << "\n";
      }
    }
    std::vector<const MemoryAnalysis::Buffer *> alive = memory.getBuffersAtPeak();
    if (!alive.empty()) {
      os << "  alive at the peak (" << alive.size() << " values):\n";
      for (const MemoryAnalysis::Buffer *buffer : llvm::ArrayRef(alive).take_front(top))
        os << "    " << llvm::format("%-10s", human(*buffer->bytes, "B").c_str())
           << " steps " << buffer->begin << ".." << buffer->end << ", from "
           << describe(producer(buffer->value)) << "\n";
    }
  }

  /// The op that computed `value` (the group, for a value yielded by one).
  static Operation *producer(Value value) {
    if (Operation *op = value.getDefiningOp())
      return op;
    return value.getParentRegion()->getParentOp();
  }

  void writeMachine(llvm::json::OStream &json, const Machine &machine) {
    json.object([&] {
      json.attribute("name", machine.name);
      json.attribute("f32_flops", machine.f32);
      json.attribute("f16_flops", machine.f16);
      json.attribute("fp8_flops", machine.fp8);
      json.attribute("int8_ops", machine.int8);
      json.attribute("bandwidth_bytes", machine.bandwidth);
    });
  }

  void writeJson(raw_ostream &os, func::FuncOp main, const MemoryAnalysis &memory) {
    llvm::json::OStream json(os);
    int64_t unknown = 0;
    OpCost sum = total(&unknown);
    json.object([&] {
      json.attribute("function", main.getSymName());
      json.attribute("stage", stage);
      json.attributeObject("machines", [&] {
        json.attributeBegin("cpu");
        writeMachine(json, cpu);
        json.attributeEnd();
        json.attributeBegin("gpu");
        writeMachine(json, gpu);
        json.attributeEnd();
      });
      json.attributeObject("total", [&] {
        json.attribute("steps", (int64_t)steps.size());
        json.attribute("steps_of_dynamic_size", unknown);
        json.attribute("flops", sum.flops);
        json.attribute("bytes_read", sum.bytesRead);
        json.attribute("bytes_written", sum.bytesWritten);
        json.attribute("cpu_seconds", seconds(cpu));
        json.attribute("gpu_seconds", seconds(gpu));
      });
      json.attributeArray("ops", [&] {
        for (const Step &step : steps)
          json.object([&] {
            json.attribute("op", step.op->getName().getStringRef());
            json.attribute("node", nodeName(step.op->getLoc()));
            if (auto group = dyn_cast<FusionGroupOp>(step.op))
              json.attribute("fusion", stringifyFusionKind(group.getKind()));
            if (std::optional<int64_t> index = memory.getStepIndex(step.op))
              json.attribute("step", *index);
            if (!step.cost)
              return;
            json.attribute("flops", step.cost->flops);
            json.attribute("bytes", step.cost->bytes());
            json.attribute("arithmetic", stringifyArithmeticKind(step.cost->kind));
            json.attribute("cpu_seconds", cpu.seconds(*step.cost));
            json.attribute("gpu_seconds", gpu.seconds(*step.cost));
            json.attribute("cpu_bound", cpu.computeBound(*step.cost) ? "compute" : "memory");
          });
      });
      json.attributeObject("memory", [&] {
        json.attribute("planned", memory.isPlanned());
        json.attribute("peak_bytes", (int64_t)memory.getPeakBytes());
        json.attribute("peak_step", memory.getPeakStep());
        json.attribute("peak_op", describe(memory.getStep(memory.getPeakStep())));
        json.attribute("arena_bytes", (int64_t)memory.getArenaBytes());
        json.attribute("intermediate_bytes", (int64_t)memory.getIntermediateBytes());
        json.attributeArray("live_bytes", [&] {
          for (int64_t i = 0; i <= memory.numSteps(); ++i)
            json.value((int64_t)memory.getLiveBytesAt(i));
        });
        json.attributeArray("alive_at_peak", [&] {
          AsmState state(main);
          for (const MemoryAnalysis::Buffer *buffer : memory.getBuffersAtPeak())
            json.object([&] {
              std::string name;
              llvm::raw_string_ostream value(name);
              buffer->value.printAsOperand(value, state);
              json.attribute("value", name);
              json.attribute("bytes", (int64_t)*buffer->bytes);
              json.attribute("begin", buffer->begin);
              json.attribute("end", buffer->end);
              json.attribute("producer", describe(producer(buffer->value)));
            });
        });
      });
    });
    os << "\n";
  }

  Machine cpu, gpu;
  std::vector<Step> steps;
};
} // namespace
