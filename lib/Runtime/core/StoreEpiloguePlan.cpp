//===- StoreEpiloguePlan.cpp - fusion groups run as one contraction's store ===//
#include "core/StoreEpiloguePlan.h"
#include "core/FusedExecution.h"
#include "cpu/Kernels.h"

namespace dsrt {
namespace {

using Op = cpu::StoreEpilogue::Op;
using Dims = std::vector<int64_t>;

int64_t product(const Dims &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

/// How an operand of dims `operand` reads against a result of dims `out`
/// whose channels are dim `channelAxis`: one value, one per channel, or one
/// per element.
bool sourceOf(const Dims &operand, const Dims &out, size_t channelAxis, Op::Source &source) {
  if (product(operand) == 1) {
    source = Op::Scalar;
    return true;
  }
  if (operand == out) {
    source = Op::Full;
    return true;
  }
  // Right-aligned numpy broadcasting: only the channel dim may be other than 1.
  const int64_t offset = (int64_t)out.size() - (int64_t)operand.size();
  if (offset < 0)
    return false;
  for (size_t d = 0; d < operand.size(); ++d)
    if (operand[d] != 1 &&
        !((int64_t)d + offset == (int64_t)channelAxis && operand[d] == out[channelAxis]))
      return false;
  source = Op::PerChannel;
  return true;
}

bool isByteType(DType t) { return t == DS_U8 || t == DS_I8; }

/// The step after the chain's value `chain` (of type `type`), or false.
bool planStep(const Step &step, const std::vector<ValueInfo> &values, uint32_t chain,
              DType &type, const Dims &out, size_t channelAxis, EpilogueStepPlan &plan) {
  if (step.outputs.size() != 1 || values[step.outputs[0]].dims != out)
    return false;
  const DType result = values[step.outputs[0]].dtype;
  if (step.op == "ds.binary") {
    const std::string kind = step.attrs.getString("kind");
    if (kind == "add")
      plan.kind = Op::Add;
    else if (kind == "sub")
      plan.kind = Op::Sub;
    else if (kind == "mul")
      plan.kind = Op::Mul;
    else if (kind == "div")
      plan.kind = Op::Div;
    else
      return false;
    if (step.inputs.size() != 2 || type != DS_F32 || result != DS_F32 ||
        step.inputs[0] == step.inputs[1])
      return false;
    plan.operandFirst = step.inputs[1] == chain;
    if (!plan.operandFirst && step.inputs[0] != chain)
      return false;
    plan.operand = step.inputs[plan.operandFirst ? 0 : 1];
    const ValueInfo &operand = values[plan.operand];
    return operand.dtype == DS_F32 && sourceOf(operand.dims, out, channelAxis, plan.source);
  }
  if (step.op == "ds.unary") {
    const std::string kind = step.attrs.getString("kind");
    if (kind == "relu")
      plan.kind = Op::Relu;
    else if (kind == "gelu")
      plan.kind = Op::Gelu;
    else if (kind == "gelu_tanh")
      plan.kind = Op::GeluTanh;
    else
      return false;
    return step.inputs.size() == 1 && step.inputs[0] == chain && type == DS_F32 &&
           result == DS_F32;
  }
  const bool quantize = step.op == "ds.quantize", dequantize = step.op == "ds.dequantize";
  if (!quantize && !dequantize)
    return false;
  if (step.inputs.size() < 2 || step.inputs[0] != chain || step.inputs[1] == DSX_ABSENT ||
      step.attrs.getInt("block_size", 0) != 0)
    return false;
  plan.kind = quantize ? Op::Quantize : Op::Dequantize;
  plan.scale = step.inputs[1];
  plan.zeroPoint = step.inputs.size() > 2 ? step.inputs[2] : DSX_ABSENT;
  plan.quantized = quantize ? result : type;
  const ValueInfo &scale = values[plan.scale];
  if (scale.dtype != DS_F32 || product(scale.dims) != 1 || !isByteType(plan.quantized) ||
      (quantize ? type != DS_F32 : result != DS_F32))
    return false;
  if (plan.zeroPoint != DSX_ABSENT && (values[plan.zeroPoint].dtype != plan.quantized ||
                                       product(values[plan.zeroPoint].dims) != 1))
    return false;
  return true;
}

/// Whether `sigmoid` and `mul` are x * sigmoid(x) of the chain's value
/// `chain` (SiLU as exporters write it: the value read twice, its logistic
/// read once, by the product alone).
bool isSiluPair(const Step &sigmoid, const Step &mul, const std::vector<ValueInfo> &values,
                uint32_t chain, DType type, const Dims &out,
                const std::vector<uint32_t> &readsInside, const std::vector<uint8_t> &readOutside) {
  if (sigmoid.op != "ds.unary" || sigmoid.attrs.getString("kind") != "sigmoid" ||
      sigmoid.inputs.size() != 1 || sigmoid.inputs[0] != chain || sigmoid.outputs.size() != 1 ||
      mul.op != "ds.binary" || mul.attrs.getString("kind") != "mul" || mul.inputs.size() != 2 ||
      mul.outputs.size() != 1)
    return false;
  const uint32_t logistic = sigmoid.outputs[0];
  const bool operands = (mul.inputs[0] == chain && mul.inputs[1] == logistic) ||
                        (mul.inputs[0] == logistic && mul.inputs[1] == chain);
  return operands && type == DS_F32 && readsInside[chain] == 2 && readsInside[logistic] == 1 &&
         !readOutside[logistic] && values[logistic].dtype == DS_F32 &&
         values[logistic].dims == out && values[mul.outputs[0]].dtype == DS_F32 &&
         values[mul.outputs[0]].dims == out;
}

/// Whether values a and b share bytes of the arena (`elsewhere[v]`: v is
/// held outside it, e.g. computed while a dynamic plan was made).
bool overlaps(const std::vector<ValueInfo> &values, const std::vector<uint8_t> &elsewhere,
              uint32_t a, uint32_t b) {
  const ValueInfo &x = values[a], &y = values[b];
  return x.storage == DSX_STORAGE_ARENA && y.storage == DSX_STORAGE_ARENA && !elsewhere[a] &&
         !elsewhere[b] && x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
}

} // namespace

bool storesThroughEpilogue(const std::string &op) {
  return op == "ds.conv_integer" || op == "ds.matmul_integer";
}

bool planStoreEpilogue(const Program &program, const std::vector<ValueInfo> &values,
                       const std::vector<size_t> &steps, const std::vector<uint8_t> &readOutside,
                       const std::vector<uint8_t> &elsewhere, EpiloguePlan &plan) {
  if (steps.size() < 3)
    return false;
  const Step &head = program.steps[steps[0]], &cast = program.steps[steps[1]];
  if (!storesThroughEpilogue(head.op) || head.outputs.size() != 1 || cast.op != "ds.cast" ||
      cast.inputs.size() != 1 || cast.inputs[0] != head.outputs[0] ||
      cast.outputs.size() != 1 || readOutside[head.outputs[0]] || readOutside[cast.outputs[0]])
    return false;
  const Dims &out = values[head.outputs[0]].dims;
  const bool conv = head.op == "ds.conv_integer";
  if ((conv && out.size() != 4) || out.size() < 2 || product(out) <= 0 ||
      values[head.outputs[0]].dtype != DS_I32 || values[cast.outputs[0]].dtype != DS_F32 ||
      values[cast.outputs[0]].dims != out)
    return false;
  // Channels: a convolution's dim 1, a matmul's columns.
  const size_t channelAxis = conv ? 1 : out.size() - 1;

  // Each value of the chain is read by the next step alone inside the group.
  std::vector<uint32_t> readsInside(values.size(), 0);
  for (size_t s : steps)
    for (uint32_t id : program.steps[s].inputs)
      if (id != DSX_ABSENT)
        ++readsInside[id];
  plan.steps.clear();
  uint32_t chain = cast.outputs[0];
  DType type = DS_F32;
  for (size_t k = 2; k < steps.size(); ++k) {
    EpilogueStepPlan next;
    if (k + 1 < steps.size() &&
        isSiluPair(program.steps[steps[k]], program.steps[steps[k + 1]], values, chain, type, out,
                   readsInside, readOutside)) {
      next.kind = Op::Silu;
      ++k; // the product ends the pair
    } else if (readsInside[chain] != 1 ||
               !planStep(program.steps[steps[k]], values, chain, type, out, channelAxis, next)) {
      return false;
    }
    chain = program.steps[steps[k]].outputs[0];
    type = values[chain].dtype;
    if (readOutside[chain])
      next.store = chain;
    plan.steps.push_back(next);
  }
  if (readsInside[chain] != 0 || plan.steps.back().store == DSX_ABSENT)
    return false;

  // The kernel reads its input and the chain's tensors while it stores:
  // none may share bytes with a value it writes (the arena plan lets a
  // group's results reuse its head's input).
  for (const EpilogueStepPlan &step : plan.steps) {
    if (step.store == DSX_ABSENT)
      continue;
    if (overlaps(values, elsewhere, step.store, head.inputs[0]))
      return false;
    for (const EpilogueStepPlan &other : plan.steps)
      if (other.operand != DSX_ABSENT && overlaps(values, elsewhere, step.store, other.operand))
        return false;
  }
  return true;
}

Status runStoreEpilogue(const Program &program, const std::vector<size_t> &steps,
                        const EpiloguePlan &plan, std::vector<Tensor> &tensors,
                        KernelContext &ctx, bool &applied) {
  const Step &head = program.steps[steps[0]];
  const bool conv = head.op == "ds.conv_integer";
  std::vector<const Tensor *> ins;
  std::vector<Tensor *> outs;

  const Tensor &result = tensors[head.outputs[0]];
  cpu::StoreEpilogue epilogue;
  epilogue.channels = conv ? result.shape[1] : result.shape.back();
  epilogue.pixels = conv ? result.shape[2] * result.shape[3] : 0;
  for (const EpilogueStepPlan &step : plan.steps) {
    Op op;
    op.kind = step.kind;
    op.source = step.source;
    op.operandFirst = step.operandFirst;
    if (step.operand != DSX_ABSENT) {
      const Tensor &operand = tensors[step.operand];
      op.values = operand.as<float>();
      op.scalar = op.values[0];
    }
    if (step.scale != DSX_ABSENT) {
      op.scale = tensors[step.scale].as<float>()[0];
      const Tensor *zero = step.zeroPoint == DSX_ABSENT ? nullptr : &tensors[step.zeroPoint];
      op.zeroPoint = !zero ? 0.0f
                     : zero->dtype == DS_U8 ? (float)zero->as<uint8_t>()[0]
                                            : (float)zero->as<int8_t>()[0];
      op.lo = step.quantized == DS_U8 ? 0.0f : -128.0f;
      op.hi = step.quantized == DS_U8 ? 255.0f : 127.0f;
    }
    if (step.store != DSX_ABSENT) {
      op.store = tensors[step.store].data;
      op.storeType = tensors[step.store].dtype;
    }
    epilogue.ops.push_back(op);
  }

  cpu::prepareStoreEpilogue(epilogue);
  bindStep(head, tensors, ins, outs);
  applied = false;
  Status s = conv ? cpu::convIntegerWithEpilogue(ctx, head.attrs, ins, outs, epilogue, applied)
                  : cpu::matmulIntegerWithEpilogue(ctx, head.attrs, ins, outs, epilogue, applied);
  if (!s)
    return stepError(head.op, s, s.code() == DS_OK ? DS_RUNTIME_ERROR : s.code());
  return Status();
}

} // namespace dsrt
