//===- QuantizeWeights.cpp - weight-only int8 / int4 ----------------------===//
//
// ds-quantize-weights stores the constant weights of f32 matmuls as 8- or
// 4-bit integers (one byte per code in the artifact) with f32 scales and dequantizes them
// where the matmul reads them; activations stay f32. This is what large decoders want: the weights
// are most of the bytes, and a decoding step reads each once.
//
//   y = matmul(x, W)  ->  y = matmul(x, dequantize(Wq, s))
//
// ds-fold-weight-dequantize then gives the CPU a matmul that reads Wq in
// its own width. PrecisionPasses.td has the options.
//
//===----------------------------------------------------------------------===//
#include "WeightQuantization.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

#include <cmath>

namespace mlir::ds {
#define GEN_PASS_DEF_QUANTIZEWEIGHTSPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

/// Symmetric codes in [-qmax, qmax] with one scale per column and block of
/// `block` rows (block = K: per column): scale = max |w| / qmax over the block.
struct BlockQuantized {
  std::vector<int8_t> codes;
  std::vector<float> scales; ///< [ceil(K / block), N]
};

BlockQuantized quantizeBlocks(const std::vector<float> &w, int64_t K, int64_t N, int64_t block,
                              int qmax) {
  BlockQuantized out;
  const int64_t blocks = (K + block - 1) / block;
  out.codes.resize((size_t)(K * N));
  out.scales.assign((size_t)(blocks * N), 0.0f);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k0 = b * block, k1 = std::min(K, k0 + block);
    for (int64_t n = 0; n < N; ++n) {
      float absMax = 0.0f;
      for (int64_t k = k0; k < k1; ++k)
        absMax = std::max(absMax, std::fabs(w[(size_t)(k * N + n)]));
      // An all-zero block keeps codes 0 under any scale; 1 keeps it finite.
      float scale = absMax > 0.0f ? absMax / (float)qmax : 1.0f;
      out.scales[(size_t)(b * N + n)] = scale;
      for (int64_t k = k0; k < k1; ++k) {
        float q = std::nearbyint(w[(size_t)(k * N + n)] / scale);
        out.codes[(size_t)(k * N + n)] = (int8_t)std::clamp(q, (float)-qmax, (float)qmax);
      }
    }
  }
  return out;
}

/// The codes as a constant of `type`: a resource blob of one byte per code
/// when large (as the runtime reads sub-byte integers: sign-extended bytes),
/// else dense `bits`-wide integers.
ElementsAttr codesConstant(RankedTensorType type, const std::vector<int8_t> &codes,
                           unsigned bits) {
  if (bits == 8 || codes.size() >= 4096)
    return makeConstant(type, ArrayRef<int8_t>(codes), bits == 8 ? "weight_int8" : "weight_int4");
  SmallVector<APInt> values;
  values.reserve(codes.size());
  for (int8_t c : codes)
    values.push_back(APInt(bits, (uint64_t)(int64_t)c, /*isSigned=*/true));
  return DenseElementsAttr::get(type, values);
}

struct QuantizeWeightsPass : ds::impl::QuantizeWeightsPassBase<QuantizeWeightsPass> {
  using QuantizeWeightsPassBase::QuantizeWeightsPassBase;

  LogicalResult initialize(MLIRContext *ctx) override {
    if (bits != 8 && bits != 4)
      return emitError(UnknownLoc::get(ctx))
             << "ds-quantize-weights: bits must be 8 or 4, got " << (int64_t)bits;
    if (blockSize < 0)
      return emitError(UnknownLoc::get(ctx))
             << "ds-quantize-weights: block-size must be at least 0 (0: one scale per column)";
    return success();
  }

  void runOnOperation() override {
    llvm::StringSet<> excluded;
    for (const std::string &name : excludeNodes)
      excluded.insert(name);
    Builder types(&getContext());
    Type element = types.getIntegerType((unsigned)bits);
    const int qmax = bits == 8 ? 127 : 7;
    for (QuantizableMatMul &matmul :
         findQuantizableMatMuls(getOperation(), excluded, minWeights)) {
      std::optional<std::vector<float>> weights = readWeight(matmul);
      if (!weights) // no bytes to quantize: the matmul stays as it is
        continue;
      auto wType = cast<RankedTensorType>(matmul.op.getRhs().getType());
      const int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
      // Nothing to store, or values no code can stand for: left in f32.
      if (K == 0 || N == 0 ||
          llvm::any_of(*weights, [](float v) { return !std::isfinite(v); }))
        continue;
      const int64_t block = blockSize > 0 ? std::min<int64_t>(blockSize, K) : K;
      BlockQuantized q = quantizeBlocks(*weights, K, N, block, qmax);
      OpBuilder b(matmul.op);
      Location loc = matmul.op.getLoc();
      Value codes = b.create<ConstantOp>(loc, codesConstant(RankedTensorType::get({K, N}, element),
                                                           q.codes, (unsigned)bits));
      auto sType = blockSize > 0
                       ? RankedTensorType::get({(K + block - 1) / block, N}, b.getF32Type())
                       : RankedTensorType::get({N}, b.getF32Type());
      Value scales = b.create<ConstantOp>(
          loc, makeConstant(sType, ArrayRef<float>(q.scales), "weight_scale"));
      // Per column: the scales run along the columns (axis 1); blocked: the
      // blocks run along the rows (axis 0), as ONNX's blocked DequantizeLinear.
      Value dequantized = b.create<DequantizeOp>(loc, wType, codes, scales, Value(),
                                                 blockSize > 0 ? 0 : 1,
                                                 blockSize > 0 ? block : 0);
      matmul.op.getRhsMutable().assign(dequantized);
      if (matmul.transpose && matmul.transpose->use_empty())
        matmul.transpose.erase();
      if (matmul.weight->use_empty())
        matmul.weight.erase();
    }
  }
};

} // namespace
