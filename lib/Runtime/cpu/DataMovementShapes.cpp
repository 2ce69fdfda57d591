//===- DataMovementShapes.cpp - result shapes of the ops in DataMovementKernels.cpp ===//
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {} // namespace dsrt::cpu
