//===- ShapePlan.h - running a program whose shapes vary per run -*- C++ -*-===//
//
// A program with dynamic dims is planned once per input-shape signature (the
// dims of every input): each step's shape function sizes its results, steps
// that only compute shapes (Shape -> Gather -> Concat -> Reshape's target)
// run while planning, and the arena planner places everything else. Plans are
// cached by signature, so a repeated shape costs a lookup.
//
// A program where a run-time value decides a shape (Reshape to a shape read
// from an input, TopK with an input k) cannot be planned ahead; it runs
// step by step instead, sizing each result after the steps before it ran.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_SHAPEPLAN_H
#define DS_RUNTIME_CORE_SHAPEPLAN_H

#include "core/Artifact.h"
#include "core/FusedExecution.h"

#include <string>
#include <vector>

namespace dsrt {

/// What can be known about a dynamic program before a run has its data.
struct ShapeAnalysis {
  /// Per value: its contents follow from the input shapes alone (constants,
  /// Shape results and what is computed from those only).
  std::vector<uint8_t> shapeDerived;
  /// Every value a shape depends on is shape-derived: plans can be cached.
  bool plannable = true;
  /// When not plannable: the first step whose result shape needs run-time data.
  std::string reason;
};

ShapeAnalysis analyzeShapes(const Program &program);

/// How a dynamic program runs for one input-shape signature.
struct ShapePlan {
  /// A value only a run knows decides a shape: run step by step (the
  /// signature is remembered so that planning is not tried again).
  bool stepByStep = false;
  /// The program's values with this signature's dims, byte sizes and arena
  /// offsets.
  std::vector<ValueInfo> values;
  uint64_t arenaBytes = 0;
  /// Per step: its results were computed while planning (the step is skipped
  /// at run time and its results live in `hostData`).
  std::vector<uint8_t> precomputed;
  std::vector<std::vector<uint64_t>> hostData; ///< per value, 8-byte aligned
  std::vector<ExecUnit> units;
  /// Tensors of every value, pointing into the arena at `boundArena`.
  std::vector<Tensor> tensors;
  const void *boundArena = nullptr;
};

/// Plans `program` for the shapes of `inputs` (already validated). Results
/// of at most `maxPrecomputedBytes` whose operands are all constants or
/// precomputed are computed now. `constants` holds each constant's bytes as
/// kernels read them (the session's, per value id).
Status buildShapePlan(const Program &program, const std::vector<const unsigned char *> &constants,
                      const ShapeAnalysis &analysis, const ds_tensor *inputs,
                      KernelContext &context, ShapePlan &plan);

/// The shape signature of `inputs`: every input's dims, in order.
std::vector<int64_t> shapeSignature(const ds_tensor *inputs, int32_t numInputs);

/// Sizes the results of `step` with the op's shape function, with `tensors`
/// holding the operands (shapes, and data where the op reads it for shapes).
Status inferStepShapes(const Step &step, const std::vector<Tensor> &tensors,
                       std::vector<Shape> &shapes);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_SHAPEPLAN_H
