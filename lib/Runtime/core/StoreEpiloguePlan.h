//===- StoreEpiloguePlan.h - fusion groups run as one contraction's store -*- C++ -*-===//
//
// A fusion group headed by ds.conv_integer or ds.matmul_integer whose other
// steps form one chain of the elementwise steps cpu::StoreEpilogue runs
// (cast to f32, + - * / by a scalar, a per-channel vector or a tensor of the
// result's shape, relu, gelu, SiLU written as x * sigmoid(x), per-tensor
// quantize / dequantize) runs as the contraction alone: its kernel hands
// each tile's sums to the chain and stores only the values read after the
// group. This is the requantization of quantized models (scale, bias, an
// activation, quantize of the next layer's input, a residual add between
// them) done where onnxruntime's QLinearConv does it. Any other group, and
// every group on CPUs without AVX-512 VNNI, keeps the tiled plan
// (core/FusedExecution.h); a contraction whose kernel declines the chain at
// run time (weights with a zero point, not packed) runs the tiled tail.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_STOREEPILOGUEPLAN_H
#define DS_RUNTIME_CORE_STOREEPILOGUEPLAN_H

#include "core/Artifact.h"
#include "cpu/StoreEpilogue.h"

#include <string>
#include <vector>

namespace dsrt {

/// The ops whose kernels can run their group's tail as they store: a group
/// they head is one arena span (stepSpans; the compiler's MemoryAnalysis
/// says the same of ds.conv_integer and ds.matmul_integer).
bool storesThroughEpilogue(const std::string &op);

/// One step of the chain, by value ids (bound to tensors when it runs).
struct EpilogueStepPlan {
  cpu::StoreEpilogue::Op::Kind kind = cpu::StoreEpilogue::Op::Add;
  cpu::StoreEpilogue::Op::Source source = cpu::StoreEpilogue::Op::Scalar;
  bool operandFirst = false;
  uint32_t operand = DSX_ABSENT;   ///< a binary step's other operand
  uint32_t scale = DSX_ABSENT;     ///< (de)quantize
  uint32_t zeroPoint = DSX_ABSENT; ///< (de)quantize, optional
  DType quantized = DS_U8;         ///< (de)quantize: the integer type
  uint32_t store = DSX_ABSENT;     ///< the step's result, when read after the group
};

struct EpiloguePlan {
  std::vector<EpilogueStepPlan> steps; ///< after the contraction and its cast
};

/// The epilogue plan of the group of program steps `steps` (all of them,
/// the contraction first), or false. `readOutside[v]`: value v is read
/// by a step outside the group or is a graph output; `elsewhere[v]`: v is
/// not in the arena although its storage says so (a dynamic plan computed
/// it while planning).
bool planStoreEpilogue(const Program &program, const std::vector<ValueInfo> &values,
                       const std::vector<size_t> &steps, const std::vector<uint8_t> &readOutside,
                       const std::vector<uint8_t> &elsewhere, EpiloguePlan &plan);

/// Runs the contraction `steps[0]` storing through `plan`'s chain;
/// `applied` false when its kernel could not take the chain (it wrote its
/// i32 result instead, and the caller runs the other steps).
Status runStoreEpilogue(const Program &program, const std::vector<size_t> &steps,
                        const EpiloguePlan &plan, std::vector<Tensor> &tensors,
                        KernelContext &ctx, bool &applied);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_STOREEPILOGUEPLAN_H
