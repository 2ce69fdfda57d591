//===- ContractionShapes.cpp - result shapes of the ops in ContractionKernels.cpp ===//
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {} // namespace dsrt::cpu
