//===- Kernels.h - CPU kernel registration ----------------------*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_KERNELS_H
#define DS_RUNTIME_CPU_KERNELS_H

#include "core/Tensor.h"

#include <string>
#include <unordered_map>

namespace dsrt::cpu {

using KernelTable = std::unordered_map<std::string, CpuOp>;

// One registration function per kernel file; each adds the ops it implements.
void registerElementwiseKernels(KernelTable &table);
void registerReductionKernels(KernelTable &table);
void registerDataMovementKernels(KernelTable &table);
void registerContractionKernels(KernelTable &table); // matmul, einsum
void registerIntegerMatmulKernels(KernelTable &table); // matmul_integer
void registerQuantizedWeightMatmulKernels(KernelTable &table); // matmul_quantized_weight
/// Tests: run ds.matmul_quantized_weight's portable loops even where
/// AVX-512 is there.
void forcePortableQuantizedWeightKernels(bool portable);
/// Whether ds.matmul_quantized_weight reads its weights from the session's
/// packed forms on this CPU (PackedConstants::addNibbles / addByteGroups:
/// 4-bit codes two per byte, 8-bit ones in groups of 64 columns).
bool packsQuantizedWeights();
void registerIntegerConvKernels(KernelTable &table);   // conv_integer
struct StoreEpilogue;
/// ds.conv_integer followed by the rest of its fusion group as a
/// StoreEpilogue (cpu/StoreEpilogue.h): `applied` says whether the kernel
/// ran it (its VNNI path; the i32 result is then not written); otherwise
/// it wrote the i32 result and the caller runs the group's other steps.
Status convIntegerWithEpilogue(KernelContext &ctx, const Attributes &attrs,
                               const std::vector<const Tensor *> &in,
                               const std::vector<Tensor *> &out, const StoreEpilogue &epilogue,
                               bool &applied);
/// ds.matmul_integer the same way (its packed-weight VNNI GEMM).
Status matmulIntegerWithEpilogue(KernelContext &ctx, const Attributes &attrs,
                                 const std::vector<const Tensor *> &in,
                                 const std::vector<Tensor *> &out, const StoreEpilogue &epilogue,
                                 bool &applied);
void registerWindowKernels(KernelTable &table);      // conv, conv_transpose, pool
void registerAttentionKernels(KernelTable &table);   // attention, rotary
void registerSparseAttentionKernels(KernelTable &table); // sparse_attention
void registerBlockLayoutKernel(KernelTable &table);   // block_layout
void registerAttentionGradKernels(KernelTable &table); // attention_grad, block_sparse_...
void registerSparseAttentionGradKernels(KernelTable &table); // sparse_attention_grad
void registerQuantKernels(KernelTable &table);
void registerSelectionKernels(KernelTable &table);
void registerAssertKernel(KernelTable &table);      // assert
void registerResizeKernel(KernelTable &table);      // resize

/// Every CPU kernel, from the register functions above (built once).
const KernelTable &kernelTable();

/// y = a b^T for an N x K f32 constant b read as it is (cpu/
/// TransposedWeightMatmul.cpp): not an op of artifacts, the kernel a session
/// gives a matmul whose rhs is the transpose of a constant
/// (core/WeightTransposes.h). Its weight packs with
/// PackedConstants::addTransposed.
constexpr const char *kTransposedWeightMatmul = "ds.matmul_transposed_constant";
const CpuOp &transposedWeightMatmul();

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_KERNELS_H
