//===- ReductionShapes.cpp - result shapes of the ops in ReductionKernels.cpp ===//
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {} // namespace dsrt::cpu
