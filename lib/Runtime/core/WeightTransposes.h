//===- WeightTransposes.h - matmuls that read transposed weights in place -*- C++ -*-===//
//
// Transpose(C) -> MatMul of a 2-D f32 constant C that the compiler could not
// fold (C has other readers: a tied output head's embedding table, gathered
// by the input) transposes all of C on every run. A CPU program, as it
// loads, gives such matmuls the kernel that reads C as it is, packed once at
// load (cpu/TransposedWeightMatmul.cpp), and marks the transpose, left
// without readers, elided: its result is sized for the shape plans but never
// computed or given memory.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_WEIGHTTRANSPOSES_H
#define DS_RUNTIME_CORE_WEIGHTTRANSPOSES_H

#include "core/Artifact.h"

#include <cstddef>

namespace dsrt {

/// Rewrites `program`'s steps as above; returns how many matmuls now read a
/// constant transposed in place.
size_t readWeightTransposesInPlace(Program &program);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_WEIGHTTRANSPOSES_H
