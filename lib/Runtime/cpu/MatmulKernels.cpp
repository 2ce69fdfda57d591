//===- MatmulKernels.cpp - matmul and einsum ------------------------------===//
//
// ds.matmul (batched, broadcasting, on the GEMM of cpu/Gemm.h) and ds.einsum.
//
// Floating-point work runs in float (f32, f16, bf16) or double (f64);
// integer work runs exactly in 64-bit wrap-around arithmetic and is stored
// back into the result type (cpu/Gemm.h).
//
//===----------------------------------------------------------------------===//
#include "cpu/ContractionShapes.h"
#include "cpu/Gemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <string>
#include <type_traits>
#include <vector>

namespace dsrt::cpu {

Status planMatmul(const char *op, const Tensor &a, const Tensor &b, const Tensor &y,
                  MatmulPlan &plan) {
  if (a.rank() < 1 || b.rank() < 1)
    return fail(op, "operands must have rank >= 1");
  std::vector<int64_t> as = a.shape, bs = b.shape;
  bool aVec = as.size() == 1, bVec = bs.size() == 1;
  if (aVec)
    as.insert(as.begin(), 1);
  if (bVec)
    bs.push_back(1);
  plan.M = as[as.size() - 2];
  plan.K = as.back();
  plan.N = bs.back();
  if (bs[bs.size() - 2] != plan.K)
    return fail(op, "contraction dims differ: " + shapeText(a.shape) + " times " +
                        shapeText(b.shape));
  std::vector<int64_t> aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  size_t br = std::max(aBatch.size(), bBatch.size());
  std::vector<int64_t> batchShape(br, 1);
  for (size_t i = 0; i < br; ++i) {
    int64_t da = i + aBatch.size() >= br ? aBatch[i + aBatch.size() - br] : 1;
    int64_t db = i + bBatch.size() >= br ? bBatch[i + bBatch.size() - br] : 1;
    if (da != db && da != 1 && db != 1)
      return fail(op, "batch dims do not broadcast: " + shapeText(a.shape) + " times " +
                          shapeText(b.shape));
    batchShape[i] = da == 1 ? db : da;
  }
  std::vector<int64_t> expect = batchShape;
  if (!aVec)
    expect.push_back(plan.M);
  if (!bVec)
    expect.push_back(plan.N);
  if (expect != y.shape)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(expect));
  plan.batch = 1;
  for (int64_t d : batchShape)
    plan.batch *= d;
  plan.aOff.assign((size_t)plan.batch, 0);
  plan.bOff.assign((size_t)plan.batch, 0);
  std::vector<int64_t> aStr = broadcastStrides(aBatch, batchShape),
                       bStr = broadcastStrides(bBatch, batchShape),
                       outStr = stridesOf(batchShape);
  plan.bShared = plan.aDense = true;
  for (int64_t i = 0; i < plan.batch; ++i) {
    plan.aOff[(size_t)i] = batchShape.empty() ? 0 : mapIndex(i, outStr, aStr);
    plan.bOff[(size_t)i] = batchShape.empty() ? 0 : mapIndex(i, outStr, bStr);
    plan.bShared &= plan.bOff[(size_t)i] == 0;
    plan.aDense &= plan.aOff[(size_t)i] == i;
  }
  return Status();
}

namespace {

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

template <typename T>
void runMatmul(KernelContext &ctx, const T *A, const T *B, T *C, int64_t batch,
               const std::vector<int64_t> &aOff, const std::vector<int64_t> &bOff, int64_t M,
               int64_t N, int64_t K) {
  bool bShared = true, aDense = true;
  for (int64_t i = 0; i < batch; ++i) {
    bShared &= bOff[(size_t)i] == 0;
    aDense &= aOff[(size_t)i] == i;
  }
  if (bShared && aDense) { // one GEMM with the batch folded into the rows
    if constexpr (std::is_same_v<T, float>)
      if (const PackedMatrix *packed = ctx.packed ? ctx.packed->find(B, K, N) : nullptr) {
        packedGemm(ctx, batch * M, A, K, *packed, C, N, false);
        return;
      }
    gemm(ctx, false, false, false, batch * M, N, K, A, K, B, N, C, N, false);
    return;
  }
  if (blasType<T>() && blas::available() && M * N * K >= 32768) {
    for (int64_t i = 0; i < batch; ++i)
      gemm(ctx, false, false, false, M, N, K, A + aOff[(size_t)i] * M * K, K,
           B + bOff[(size_t)i] * K * N, N, C + i * M * N, N, false);
    return;
  }
  // Small matrices: parallel over (batch, row) with the portable kernel.
  int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, N * K));
  parallel(ctx, batch * M, grain, [&](int64_t b, int64_t e) {
    while (b < e) {
      int64_t i = b / M, r0 = b % M, r1 = std::min(M, r0 + (e - b));
      gemmRows(false, false, r0, r1, N, K, A + aOff[(size_t)i] * M * K, K,
               B + bOff[(size_t)i] * K * N, N, C + i * M * N, N, false);
      b += r1 - r0;
    }
  });
}

/// A bf16 matmul on the packed AVX512-BF16 GEMM (weights packed at load) or
/// else oneDNN's bf16 GEMM: the operands are read as they are, products
/// accumulate in f32 and each result is rounded to bf16 once. False when
/// neither runs it (the caller takes the f32 path).
bool runMatmulBf16(KernelContext &ctx, const Tensor &a, const Tensor &b, Tensor &y,
                   const MatmulPlan &p) {
  const uint16_t *A = a.as<uint16_t>(), *B = b.as<uint16_t>();
  // Constant weights packed at load (cpu/Bf16PackedGemm.h).
  const PackedBf16Matrix *packed =
      ctx.packed && p.bShared && b.rank() == 2 ? ctx.packed->findBf16Matrix(b.data, p.K, p.N)
                                                : nullptr;
  if (packed) {
    uint16_t *C = y.as<uint16_t>();
    return forEachMatmulGemm(ctx, p, [&](bool nested, int64_t i, int64_t rows) {
      bf16PackedGemm(ctx, nested, *packed, A + p.aOff[(size_t)i] * p.M * p.K, rows, p.K,
                     C + i * p.M * p.N, p.N);
      return true;
    });
  }
  if (!dnnl::available())
    return false;
  std::vector<float> storage;
  float *C = outputAs<float>(y, storage);
  bool ok = forEachMatmulGemm(ctx, p, [&](bool nested, int64_t i, int64_t rows) {
    return gemmBf16(ctx, nested, false, false, rows, p.N, p.K, A + p.aOff[(size_t)i] * p.M * p.K,
                    p.K, B + p.bOff[(size_t)i] * p.K * p.N, p.N, C + i * p.M * p.N, p.N);
  });
  if (ok)
    finishOutput<float>(y, C);
  return ok;
}

/// An f16 matmul whose weights were widened and packed at load
/// (PackedConstants::addWidened): the lhs widened, one f32 GEMM, the result
/// rounded to f16 once. False when the weights were not packed.
bool runMatmulHalfPacked(KernelContext &ctx, const Tensor &a, const Tensor &b, Tensor &y,
                         const MatmulPlan &p) {
  const PackedMatrix *packed = ctx.packed && p.bShared && p.aDense && b.rank() == 2
                                   ? ctx.packed->find(b.data, p.K, p.N)
                                   : nullptr;
  if (!packed)
    return false;
  ThreadStorage<float, 2> s; // the widened lhs and the f32 result
  const float *A = viewAs<float>(a, s[0]);
  float *C = outputAs<float>(y, s[1]);
  packedGemm(ctx, p.batch * p.M, A, p.K, *packed, C, p.N, false);
  finishOutput<float>(y, C);
  return true;
}

Status matmulKernel(KernelContext &ctx, const Attributes &, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.matmul";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &a = *in[0], &b = *in[1];
  Tensor &y = *out[0];
  if (a.dtype != b.dtype || y.dtype != a.dtype)
    return fail(op, std::string("operands and result differ in element type: ") +
                        dtypeName(a.dtype) + ", " + dtypeName(b.dtype) + " -> " +
                        dtypeName(y.dtype));
  MatmulPlan plan;
  if (Status s = planMatmul(op, a, b, y, plan); !s)
    return s;
  Compute kind = computeOf(a.dtype);
  if (kind == Compute::None)
    return fail(op, std::string("unsupported element type ") + dtypeName(a.dtype));
  const int64_t M = plan.M, N = plan.N, K = plan.K, batch = plan.batch;
  const std::vector<int64_t> &aOff = plan.aOff, &bOff = plan.bOff;
  if (y.numel() == 0)
    return Status();
  if (a.dtype == DS_BF16 && runMatmulBf16(ctx, a, b, y, plan))
    return Status();
  if (a.dtype == DS_F16 && runMatmulHalfPacked(ctx, a, b, y, plan))
    return Status();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sa, sb, sy;
    const T *A = viewAs<T>(a, sa), *B = viewAs<T>(b, sb);
    T *C = outputAs<T>(y, sy);
    runMatmul<T>(ctx, A, B, C, batch, aOff, bOff, M, N, K);
    finishOutput<T>(y, C);
  };
  if (kind == Compute::F32)
    run(float());
  else if (kind == Compute::F64)
    run(double());
  else
    run(uint64_t());
  return Status();
}


//===----------------------------------------------------------------------===//
// einsum
//===----------------------------------------------------------------------===//

struct EinsumPlan {
  std::vector<int64_t> labelSize;            // by label id
  std::vector<std::vector<int64_t>> strides; // [input][label id]
  std::vector<int64_t> outLabels, sumLabels;
};

Status planEinsum(const char *op, const std::string &equationIn, const Inputs &in,
                  const Tensor &y, EinsumPlan &plan) {
  std::string eq;
  for (char c : equationIn)
    if (c != ' ')
      eq.push_back(c);
  size_t arrow = eq.find("->");
  bool explicitOut = arrow != std::string::npos;
  std::string lhs = explicitOut ? eq.substr(0, arrow) : eq;
  std::string rhs = explicitOut ? eq.substr(arrow + 2) : "";
  std::vector<std::string> terms;
  {
    size_t pos = 0;
    while (true) {
      size_t comma = lhs.find(',', pos);
      terms.push_back(lhs.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
  }
  if (terms.size() != in.size())
    return fail(op, "equation '" + equationIn + "' has " + std::to_string(terms.size()) +
                        " terms for " + std::to_string(in.size()) + " inputs");
  // Label ids: letters by character code (0..127); ellipsis dims get 128 + j.
  auto letterId = [](char c) { return (int64_t)(unsigned char)c; };
  std::vector<std::vector<int64_t>> termLabels(terms.size());
  int64_t ellipsisRank = 0;
  std::vector<int64_t> termEllipsis(terms.size(), -1);
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string &term = terms[t];
    size_t dots = term.find("...");
    int64_t letters = (int64_t)term.size() - (dots == std::string::npos ? 0 : 3);
    int64_t er = in[t]->rank() - letters;
    if (er < 0 || (dots == std::string::npos && er != 0))
      return fail(op, "term '" + term + "' does not match an input of rank " +
                          std::to_string(in[t]->rank()));
    if (dots != std::string::npos) {
      termEllipsis[t] = er;
      ellipsisRank = std::max(ellipsisRank, er);
    }
  }
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string &term = terms[t];
    for (size_t i = 0; i < term.size(); ++i) {
      if (term.compare(i, 3, "...") == 0) {
        int64_t er = termEllipsis[t];
        for (int64_t j = 0; j < er; ++j)
          termLabels[t].push_back(128 + ellipsisRank - er + j);
        i += 2;
        continue;
      }
      char c = term[i];
      if (!std::isalpha((unsigned char)c))
        return fail(op, std::string("label '") + c + "' is not a letter");
      termLabels[t].push_back(letterId(c));
    }
  }
  const int64_t numIds = 128 + ellipsisRank;
  plan.labelSize.assign((size_t)numIds, -1);
  std::vector<int64_t> count((size_t)numIds, 0);
  for (size_t t = 0; t < terms.size(); ++t)
    for (size_t d = 0; d < termLabels[t].size(); ++d) {
      int64_t id = termLabels[t][d], size = in[t]->shape[d];
      int64_t &known = plan.labelSize[(size_t)id];
      if (known < 0 || known == 1)
        known = size;
      else if (size != 1 && size != known)
        return fail(op, "label sizes " + std::to_string(known) + " and " + std::to_string(size) +
                            " differ");
      ++count[(size_t)id];
    }
  if (explicitOut) {
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs.compare(i, 3, "...") == 0) {
        for (int64_t j = 0; j < ellipsisRank; ++j)
          plan.outLabels.push_back(128 + j);
        i += 2;
        continue;
      }
      int64_t id = letterId(rhs[i]);
      if (!std::isalpha((unsigned char)rhs[i]) || plan.labelSize[(size_t)id] < 0)
        return fail(op, std::string("output label '") + rhs[i] + "' is not in any input");
      if (std::find(plan.outLabels.begin(), plan.outLabels.end(), id) != plan.outLabels.end())
        return fail(op, std::string("output label '") + rhs[i] + "' is repeated");
      plan.outLabels.push_back(id);
    }
  } else {
    for (int64_t j = 0; j < ellipsisRank; ++j)
      plan.outLabels.push_back(128 + j);
    for (int64_t id = 0; id < 128; ++id)
      if (count[(size_t)id] == 1)
        plan.outLabels.push_back(id);
  }
  for (int64_t id = 0; id < numIds; ++id)
    if (plan.labelSize[(size_t)id] >= 0 &&
        std::find(plan.outLabels.begin(), plan.outLabels.end(), id) == plan.outLabels.end())
      plan.sumLabels.push_back(id);
  std::vector<int64_t> expect;
  for (int64_t id : plan.outLabels)
    expect.push_back(plan.labelSize[(size_t)id] < 0 ? 1 : plan.labelSize[(size_t)id]);
  if (expect != y.shape)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(expect));
  plan.strides.assign(in.size(), std::vector<int64_t>((size_t)numIds, 0));
  for (size_t t = 0; t < in.size(); ++t) {
    std::vector<int64_t> st = stridesOf(in[t]->shape);
    for (size_t d = 0; d < termLabels[t].size(); ++d) {
      int64_t id = termLabels[t][d];
      if (in[t]->shape[d] == 1 && plan.labelSize[(size_t)id] != 1)
        continue; // broadcast
      plan.strides[t][(size_t)id] += st[d];
    }
  }
  return Status();
}

template <typename T>
void runEinsum(KernelContext &ctx, const EinsumPlan &plan, const std::vector<const T *> &x,
               T *y, int64_t outCount) {
  const size_t nIn = x.size();
  const size_t nOut = plan.outLabels.size(), nSum = plan.sumLabels.size();
  int64_t sumCount = 1;
  for (int64_t id : plan.sumLabels)
    sumCount *= plan.labelSize[(size_t)id];
  parallel(ctx, outCount, std::max<int64_t>(1, 4096 / std::max<int64_t>(sumCount, 1)),
           [&](int64_t b, int64_t e) {
             std::vector<int64_t> base(nIn), off(nIn), idx(nSum);
             for (int64_t o = b; o < e; ++o) {
               std::fill(base.begin(), base.end(), 0);
               int64_t rem = o;
               for (size_t d = nOut; d-- > 0;) {
                 int64_t id = plan.outLabels[d], size = plan.labelSize[(size_t)id];
                 int64_t c = rem % size;
                 rem /= size;
                 for (size_t t = 0; t < nIn; ++t)
                   base[t] += c * plan.strides[t][(size_t)id];
               }
               T acc = 0;
               if (sumCount == 0) {
                 y[o] = 0;
                 continue;
               }
               if (nSum == 0) {
                 T prod = 1;
                 for (size_t t = 0; t < nIn; ++t)
                   prod *= x[t][base[t]];
                 y[o] = prod;
                 continue;
               }
               std::fill(idx.begin(), idx.end(), 0);
               off = base;
               const int64_t innerId = plan.sumLabels[nSum - 1];
               const int64_t innerSize = plan.labelSize[(size_t)innerId];
               while (true) {
                 for (int64_t i = 0; i < innerSize; ++i) {
                   T prod = 1;
                   for (size_t t = 0; t < nIn; ++t)
                     prod *= x[t][off[t] + i * plan.strides[t][(size_t)innerId]];
                   acc += prod;
                 }
                 size_t d = nSum - 1;
                 bool done = true;
                 while (d-- > 0) {
                   int64_t id = plan.sumLabels[d];
                   for (size_t t = 0; t < nIn; ++t)
                     off[t] += plan.strides[t][(size_t)id];
                   if (++idx[d] < plan.labelSize[(size_t)id]) {
                     done = false;
                     break;
                   }
                   for (size_t t = 0; t < nIn; ++t)
                     off[t] -= plan.strides[t][(size_t)id] * plan.labelSize[(size_t)id];
                   idx[d] = 0;
                 }
                 if (done)
                   break;
               }
               y[o] = acc;
             }
           });
}

Status einsumKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.einsum";
  if (in.empty())
    return fail(op, "needs at least one input");
  if (Status s = need(op, in, out, in.size(), 1); !s)
    return s;
  Tensor &y = *out[0];
  for (const Tensor *t : in)
    if (t->dtype != y.dtype)
      return fail(op, "inputs and result differ in element type");
  EinsumPlan plan;
  if (Status s = planEinsum(op, attrs.getString("equation", ""), in, y, plan); !s)
    return s;
  Compute kind = computeOf(y.dtype);
  if (kind == Compute::None)
    return fail(op, std::string("unsupported element type ") + dtypeName(y.dtype));
  if (y.numel() == 0)
    return Status();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<std::vector<T>> storage(in.size());
    std::vector<const T *> xs;
    for (size_t t = 0; t < in.size(); ++t) {
      storage[t].resize((size_t)in[t]->numel());
      for (int64_t i = 0; i < in[t]->numel(); ++i) {
        if constexpr (std::is_same_v<T, uint64_t>)
          storage[t][(size_t)i] = (uint64_t)loadAsInt(*in[t], i);
        else
          storage[t][(size_t)i] = loadAsDouble(*in[t], i);
      }
      xs.push_back(storage[t].data());
    }
    std::vector<T> result((size_t)y.numel());
    runEinsum<T>(ctx, plan, xs, result.data(), y.numel());
    for (int64_t i = 0; i < y.numel(); ++i) {
      if constexpr (std::is_same_v<T, uint64_t>)
        storeInt(y, i, (int64_t)result[(size_t)i]);
      else
        storeDouble(y, i, result[(size_t)i]);
    }
  };
  if (kind == Compute::Int)
    run(uint64_t());
  else
    run(double()); // accumulate in double, round once
  return Status();
}

} // namespace

void registerContractionKernels(KernelTable &table) {
  table["ds.matmul"] = CpuOp(matmulKernel, matmulShape);
  table["ds.einsum"] = CpuOp(einsumKernel, einsumShape);
}

} // namespace dsrt::cpu
