//===- QuantShapes.cpp - result shapes of the ops in QuantKernels.cpp ===//
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {} // namespace dsrt::cpu
