//===- ShapePlan.cpp - running a program whose shapes vary per run --------===//
#include "core/ShapePlan.h"

#include "core/ArenaPlan.h"
#include "core/Session.h"

namespace dsrt {
namespace {
/// Shape-derived results larger than this are computed at run time like any
/// other (a plan keeps what it precomputes for as long as it is cached).
constexpr uint64_t kMaxPrecomputedBytes = uint64_t(1) << 20;

bool readsShapeOnly(const Step &step) { return step.opClass == DSX_OP_SHAPE; }

uint64_t byteSize(const ValueInfo &v) {
  uint64_t n = 1;
  for (int64_t d : v.dims)
    n *= (uint64_t)d;
  return n * dtypeSize(v.dtype);
}
} // namespace

ShapeAnalysis analyzeShapes(const Program &program) {
  ShapeAnalysis a;
  a.shapeDerived.assign(program.values.size(), 0);
  for (size_t id = 0; id < program.values.size(); ++id)
    a.shapeDerived[id] = program.values[id].storage == DSX_STORAGE_CONSTANT;
  for (const Step &step : program.steps) {
    bool derived = true;
    for (uint32_t id : step.inputs)
      derived &= id == DSX_ABSENT || a.shapeDerived[id];
    derived |= readsShapeOnly(step);
    for (uint32_t id : step.outputs)
      a.shapeDerived[id] = derived;
    uint32_t mask = step.cpu ? step.cpu->shapeOperands : 0;
    for (size_t k = 0; k < step.inputs.size() && a.plannable; ++k)
      if ((mask >> k & 1) && step.inputs[k] != DSX_ABSENT && !a.shapeDerived[step.inputs[k]]) {
        a.plannable = false;
        a.reason = step.op + " reads the shape of its result from '" +
                   program.values[step.inputs[k]].name + "', a value known only at run time";
      }
  }
  return a;
}

std::vector<int64_t> shapeSignature(const ds_tensor *inputs, int32_t numInputs) {
  std::vector<int64_t> key;
  for (int32_t i = 0; i < numInputs; ++i)
    key.insert(key.end(), inputs[i].dims, inputs[i].dims + inputs[i].rank);
  return key;
}

Status inferStepShapes(const Step &step, const std::vector<Tensor> &tensors,
                       std::vector<Shape> &shapes) {
  std::vector<const Tensor *> ins;
  for (uint32_t id : step.inputs)
    ins.push_back(id == DSX_ABSENT ? nullptr : &tensors[id]);
  shapes.assign(step.outputs.size(), Shape());
  Status s = step.cpu->shape(step.attrs, ins, shapes);
  if (!s)
    return stepError(step.op, s, DS_INVALID_ARGUMENT);
  return Status();
}

Status buildShapePlan(const Program &program, const std::vector<const unsigned char *> &constants,
                      const ShapeAnalysis &analysis, const ds_tensor *inputs,
                      KernelContext &context, ShapePlan &plan) {
  const size_t numValues = program.values.size();
  plan.values = program.values;
  plan.hostData.assign(numValues, {});
  plan.precomputed.assign(program.steps.size(), 0);
  std::vector<uint8_t> available(numValues, 0); // data known while planning
  std::vector<Tensor> tensors(numValues);
  for (size_t id = 0; id < numValues; ++id) {
    const ValueInfo &v = program.values[id];
    tensors[id] = Tensor{v.dtype, v.dims, nullptr};
    if (v.storage == DSX_STORAGE_CONSTANT) {
      tensors[id].data = const_cast<unsigned char *>(constants[id]);
      available[id] = 1;
    }
  }
  for (size_t i = 0; i < program.inputs.size(); ++i) {
    uint32_t id = program.inputs[i];
    tensors[id].shape.assign(inputs[i].dims, inputs[i].dims + inputs[i].rank);
    plan.values[id].dims = tensors[id].shape;
    plan.values[id].bytes = inputs[i].byte_size;
  }

  // Size every result in program order; run the shape-only steps now.
  std::vector<Shape> shapes;
  for (size_t s = 0; s < program.steps.size(); ++s) {
    const Step &step = program.steps[s];
    for (size_t k = 0; k < step.inputs.size(); ++k)
      if ((step.cpu->shapeOperands >> k & 1) && step.inputs[k] != DSX_ABSENT &&
          !available[step.inputs[k]])
        return Status::error(step.op + " needs the value of '" +
                                 program.values[step.inputs[k]].name + "' to size its result",
                             DS_UNSUPPORTED);
    Status inferred = inferStepShapes(step, tensors, shapes);
    if (!inferred)
      return inferred;
    if (step.elided) { // sized, never run: no unit, no memory
      for (size_t k = 0; k < step.outputs.size(); ++k) {
        ValueInfo &v = plan.values[step.outputs[k]];
        v.dims = shapes[k];
        v.bytes = byteSize(v);
        tensors[step.outputs[k]].shape = shapes[k];
      }
      plan.precomputed[s] = 1;
      continue;
    }
    bool precompute = readsShapeOnly(step) || analysis.shapeDerived[step.outputs[0]];
    for (size_t k = 0; precompute && k < step.inputs.size(); ++k)
      precompute = step.inputs[k] == DSX_ABSENT || available[step.inputs[k]] ||
                   readsShapeOnly(step);
    for (size_t k = 0; k < step.outputs.size(); ++k) {
      ValueInfo &v = plan.values[step.outputs[k]];
      v.dims = shapes[k];
      v.bytes = byteSize(v);
      tensors[step.outputs[k]].shape = shapes[k];
      precompute &= v.bytes <= kMaxPrecomputedBytes;
    }
    if (!precompute)
      continue;
    std::vector<const Tensor *> ins;
    std::vector<Tensor *> outs;
    std::vector<Tensor> shapeViews; // ds.shape reads dims only: data is a stand-in
    shapeViews.reserve(step.inputs.size());
    static uint64_t standIn;
    for (uint32_t id : step.inputs) {
      if (id != DSX_ABSENT && !tensors[id].data && readsShapeOnly(step)) {
        shapeViews.push_back(tensors[id]);
        shapeViews.back().data = &standIn;
        ins.push_back(&shapeViews.back());
        continue;
      }
      ins.push_back(id == DSX_ABSENT ? nullptr : &tensors[id]);
    }
    for (uint32_t id : step.outputs) {
      plan.hostData[id].assign(plan.values[id].bytes / 8 + 1, 0);
      tensors[id].data = plan.hostData[id].data();
      outs.push_back(&tensors[id]);
      available[id] = 1;
    }
    Status ran = step.kernel(context, step.attrs, ins, outs);
    if (!ran)
      return stepError(step.op, ran, ran.code());
    plan.precomputed[s] = 1;
  }

  // Place the arena values that run-time steps compute: from the defining
  // step to the last reader, graph outputs to the end, widened across fusion
  // groups as the compiler widens them (extendLifetime).
  std::vector<StepSpan> spans = stepSpans(program);
  std::vector<int64_t> def(numValues, -1);
  std::vector<BufferLifetime> life(numValues);
  for (size_t s = 0; s < program.steps.size(); ++s) {
    if (plan.precomputed[s])
      continue;
    for (uint32_t id : program.steps[s].outputs) {
      def[id] = (int64_t)s;
      life[id] = {(int64_t)s, (int64_t)s, plan.values[id].bytes};
    }
    for (uint32_t id : program.steps[s].inputs)
      if (id != DSX_ABSENT && def[id] >= 0)
        extendLifetime(life[id], def[id], (int64_t)s, spans);
  }
  for (uint32_t id : program.outputs)
    if (def[id] >= 0)
      extendLifetime(life[id], def[id], (int64_t)program.steps.size(), spans);
  std::vector<BufferLifetime> lifetimes;
  std::vector<uint32_t> placed;
  for (size_t id = 0; id < numValues; ++id)
    if (plan.values[id].storage == DSX_STORAGE_ARENA && def[id] >= 0) {
      lifetimes.push_back(life[id]);
      placed.push_back((uint32_t)id);
    }
  std::vector<uint64_t> offsets = planArena(lifetimes, DSX_CONSTANT_ALIGNMENT, plan.arenaBytes);
  // The loader's cap on a compiled arena holds for planned ones too.
  constexpr uint64_t kMaxArenaBytes = uint64_t(1) << 48;
  if (plan.arenaBytes > kMaxArenaBytes)
    return Status::error("these input shapes need an activation arena of more than 2^48 bytes",
                         DS_INVALID_ARGUMENT);
  for (size_t i = 0; i < placed.size(); ++i)
    plan.values[placed[i]].offset = offsets[i];

  plan.units = planExecution(program, plan.values, &plan.precomputed);
  plan.tensors = std::move(tensors);
  plan.boundArena = nullptr;
  return Status();
}

} // namespace dsrt
