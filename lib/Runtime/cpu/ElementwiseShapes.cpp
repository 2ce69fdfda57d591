//===- ElementwiseShapes.cpp - result shapes of the ops in ElementwiseKernels.cpp ===//
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {} // namespace dsrt::cpu
