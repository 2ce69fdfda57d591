//===- EmitDynamicQuantize.cpp - ds.dynamic_quantize: one block -----------===//
//
// ONNX DynamicQuantizeLinear as the CPU kernel (cpu/QuantKernels.cpp) computes
// it: the range of the data widened to include 0 (NaN skipped), scale =
// range / 255 (1 for an empty range), zero point = round(clamp(-lo / scale)),
// then y = clamp(round_even(x / scale) + zero point) with NaN going to the
// zero point. One block of 256 threads finds the range with block
// reductions and quantizes every element; fine for the activations of a
// layer (a grid-wide range would serve tensors of many millions).
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

LogicalResult cuda::emitDynamicQuantize(FusionGroupOp group, DynamicQuantizeOp op,
                                        const std::string &name, EmitContext &ctx) {
  if (!isAloneInGroup(group, op))
    return op.emitError("cuda: 'ds.dynamic_quantize' must be alone in its fusion group (as "
                        "--ds-fuse leaves it)");
  Value x = op.getInput();
  auto isU8 = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getElementType().isUnsignedInteger(8);
  };
  if (!isU8(op.getOutput()) || !isU8(op.getZeroPoint()) ||
      !cast<RankedTensorType>(op.getScale().getType()).getElementType().isF32())
    return op.emitError(
        "cuda: 'ds.dynamic_quantize' gives ui8 data, an f32 scale and a ui8 zero point");
  KernelWriter w(group, name, *ctx.sizes);
  const std::string n = ctx.sizes->product(x, 0, (int64_t)w.dims(x).size()).c();
  w.line() << "// dynamic_quantize over " << n << " elements in one block\n";
  if (failed(w.declareFlatLoader(x, "load")))
    return failure();
  w.line() << "float lo = 0.0f, hi = 0.0f;\n";
  w.open("for (long long e = threadIdx.x; e < " + n + "; e += blockDim.x)");
  w.line() << "const float v = load(e);\n";
  w.line() << "lo = fminf(lo, v);\n";
  w.line() << "hi = fmaxf(hi, v);\n";
  w.close();
  w.line() << "lo = ds_block_reduce<2>(lo);\n";
  w.line() << "hi = ds_block_reduce<1>(hi);\n";
  w.line() << "const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;\n";
  w.line() << "const float zp = rintf(fminf(255.0f, fmaxf(0.0f, 0.0f - lo / scale)));\n";
  w.open("for (long long e = threadIdx.x; e < " + n + "; e += blockDim.x)");
  w.line() << "const float q = load(e) / scale;\n";
  w.line() << "float r = rintf(q) + zp;\n";
  w.line() << "r = r < 0.0f ? 0.0f : (r > 255.0f ? 255.0f : r);\n";
  w.line() << "ds_store(" << w.outputParam(0) << ", e, (int)(q != q ? zp : r));\n";
  w.close();
  w.open("if (threadIdx.x == 0)");
  w.line() << "ds_store(" << w.outputParam(1) << ", 0, scale);\n";
  w.line() << "ds_store(" << w.outputParam(2) << ", 0, (int)zp);\n";
  w.close();
  ctx.source += w.globals + w.finish("__launch_bounds__(256)") + "\n";
  ctx.steps.push_back(w.launchStep({Size::of(1), Size::of(1), Size::of(1)}, {256, 1, 1}, 0));
  ++ctx.kernels;
  return success();
}
