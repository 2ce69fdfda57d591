//===- BlockLayoutKernel.cpp - ds.block_layout on the CPU -----------------===//
//
// The block layout of ds.block_sparse_attention for lengths known only when
// the model runs, from the pattern's one definition (core/BlockPattern.h).
// The lengths come from the run's inputs: the layout's size is bounded before
// it is allocated, as the compiler bounds a constant layout.
//
//===----------------------------------------------------------------------===//
#include "core/BlockPattern.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/ShapeUtils.h"

#include <string>
#include <vector>

namespace dsrt::cpu {
namespace {

/// What a ds.block_layout step builds: its pattern, lengths and offset.
struct LayoutRequest {
  BlockPattern pattern;
  bool causal = false;
  int64_t S = 0, L = 0, offset = 0, queryBlocks = 0, keyBlocks = 0;
};

Status readRequest(const Attributes &attrs, const Inputs &in, LayoutRequest &r) {
  const char *op = "ds.block_layout";
  const char *names[2] = {"query_shape", "key_shape"};
  int64_t lengths[2];
  for (int i = 0; i < 2; ++i) {
    std::vector<int64_t> shape;
    if (Status s = readInts(op, in[(size_t)i], names[i], shape); !s)
      return s;
    if (shape.size() < 3 || shape[2] < 0)
      return fail(op, std::string(names[i]) + " must hold a length at element 2, got " +
                          std::to_string(shape.size()) + " elements");
    lengths[i] = shape[2];
  }
  r.S = lengths[0];
  r.L = lengths[1];
  // Lengths and the diagonal's offset (any int64 in an artifact) bounded so
  // that the pattern's row arithmetic cannot overflow.
  constexpr int64_t kMaxPosition = (int64_t)1 << 60;
  const int64_t causalOffset = attrs.getInt("causal_offset", 0);
  if (r.S > kMaxPosition || r.L > kMaxPosition || causalOffset > kMaxPosition ||
      causalOffset < -kMaxPosition)
    return fail(op, "lengths " + std::to_string(r.S) + " and " + std::to_string(r.L) +
                        " or causal_offset " + std::to_string(causalOffset) +
                        " exceed 2^60");
  r.pattern.blockSize = attrs.getInt("block_size", 0);
  r.pattern.local = attrs.getInt("local_blocks", 0);
  r.pattern.stride = attrs.getInt("stride_blocks", 0);
  r.pattern.global = attrs.getInt("global_blocks", 0);
  r.causal = attrs.has("is_causal") && attrs.getInt("is_causal", 1) != 0;
  r.offset = causalOffset;
  if (r.causal && attrs.has("causal_from_end") && attrs.getInt("causal_from_end", 1) != 0)
    r.offset += r.L - r.S;
  const int64_t b = r.pattern.blockSize;
  if (b < 1)
    return fail(op, "block_size must be >= 1");
  r.queryBlocks = r.S / b + (r.S % b != 0);
  r.keyBlocks = r.L / b + (r.L % b != 0);
  if (!layoutFits(r.S, r.L, b))
    return fail(op, std::to_string(r.S) + " queries and " + std::to_string(r.L) +
                        " keys at block_size " + std::to_string(b) + " need more than " +
                        std::to_string(kMaxLayoutBlocks) + " layout blocks");
  return Status();
}

Status blockLayoutShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  if (Status s = needShapes("ds.block_layout", in, 2, out, 1); !s)
    return s;
  LayoutRequest r;
  if (Status s = readRequest(attrs, in, r); !s)
    return s;
  out[0] = {1, r.queryBlocks, r.keyBlocks};
  return Status();
}

Status blockLayoutKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                         const Outputs &out) {
  const char *op = "ds.block_layout";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  if (Status s = checkResultShape(op, blockLayoutShape, attrs, in, *out[0]); !s)
    return s;
  if (out[0]->dtype != DS_BOOL)
    return fail(op, std::string("result must be i1, got ") + dtypeName(out[0]->dtype));
  LayoutRequest r;
  if (Status s = readRequest(attrs, in, r); !s)
    return s;
  uint8_t *kept = out[0]->as<uint8_t>();
  for (int64_t row = 0; row < r.queryBlocks; ++row)
    blockPatternRow(r.pattern, r.S, r.causal, r.offset, row, r.keyBlocks,
                    kept + row * r.keyBlocks);
  return Status();
}

} // namespace

void registerBlockLayoutKernel(KernelTable &table) {
  // The lengths are read from both operands' values.
  table["ds.block_layout"] = CpuOp(blockLayoutKernel, blockLayoutShape, operandMask({0, 1}));
}

} // namespace dsrt::cpu
