//===- ExpandGemmBatchPass.cpp - `ds-cuda-expand-gemm-batch` --------------===//
//
// cuBLASLt's batched matmul has one stride per operand between batches, so
// an operand is either batched like the result or shared by every batch.
// One whose leading dims broadcast only in part is expanded to the full
// batch here, before ds-fuse.
//
//===----------------------------------------------------------------------===//
#include "ds/Target/CUDA/Passes.h"

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::ds {
#define GEN_PASS_DEF_CUDAEXPANDGEMMBATCHPASS
#include "ds/Target/CUDA/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
/// The operand expanded to the result's batch dims when its own batch dims
/// (those before its matrix dims) are neither all 1 nor the result's
/// (leading ones aside).
void expandPartialBatch(MatMulOp matmul, OpOperand &operand) {
  auto type = cast<RankedTensorType>(operand.get().getType());
  auto result = cast<RankedTensorType>(matmul.getType());
  if (type.getRank() < 3 || !type.hasStaticShape() || !result.hasStaticShape())
    return; // a vector or a plain matrix has no batch; dynamic dims: the emitter says
  const int64_t matrixRank = 2;
  ArrayRef<int64_t> own = type.getShape().drop_back(matrixRank);
  const int64_t resultBatchRank =
      result.getRank() - 2 + (cast<RankedTensorType>(matmul.getLhs().getType()).getRank() == 1) +
      (cast<RankedTensorType>(matmul.getRhs().getType()).getRank() == 1);
  ArrayRef<int64_t> batch = result.getShape().take_front(resultBatchRank);
  // Under numpy broadcasting, the same count means the same dims up to
  // leading ones: one stride covers it (EmitGemm.cpp compares the counts too).
  int64_t ownCount = ShapedType::getNumElements(own);
  if (ownCount == 1 || ownCount == ShapedType::getNumElements(batch))
    return;
  SmallVector<int64_t> shape(batch);
  shape.append(type.getShape().take_back(matrixRank).begin(),
               type.getShape().take_back(matrixRank).end());
  OpBuilder b(matmul);
  auto shapeType = RankedTensorType::get({(int64_t)shape.size()}, b.getI64Type());
  Value dims =
      b.create<ConstantOp>(matmul.getLoc(), DenseElementsAttr::get(shapeType, ArrayRef(shape)));
  operand.set(b.create<ExpandOp>(
      matmul.getLoc(), RankedTensorType::get(shape, type.getElementType()), operand.get(), dims));
}

struct CUDAExpandGemmBatchPass
    : public ds::impl::CUDAExpandGemmBatchPassBase<CUDAExpandGemmBatchPass> {
  void runOnOperation() override {
    getOperation().walk([](MatMulOp matmul) {
      for (OpOperand &operand : matmul->getOpOperands())
        expandPartialBatch(matmul, operand);
    });
  }
};
} // namespace
