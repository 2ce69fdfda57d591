//===- GemmTest.cpp - GEMM blocking and the packed-weight GEMM ------------===//
//
// cpu/Gemm.h's block choice for library GEMMs and cpu/PackedGemm's kernels,
// whose every element must equal one sequential fma chain over k.
//
//===----------------------------------------------------------------------===//
#include "cpu/Gemm.h"
#include "KernelTestUtils.h"
#include "cpu/Kernels.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"
#include "cpu/TaskGrid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

TEST(Gemm, BlocksFromTheShapeAlone) {
  // Halving the side that costs least, down to 64 rows / 128 columns, up
  // to 16 blocks; small GEMMs stay one block.
  cpu::GemmBlocks small = cpu::gemmBlocks(32, 100);
  EXPECT_EQ(small.rowBlocks * small.colBlocks, 1);
  cpu::GemmBlocks bert = cpu::gemmBlocks(128, 3072); // BERT's MLP at sequence 128
  EXPECT_EQ(bert.rows, 128);
  EXPECT_EQ(bert.rowBlocks * bert.colBlocks, 16);
  cpu::GemmBlocks tall = cpu::gemmBlocks(4096, 64);
  EXPECT_EQ(tall.cols, 64);
  EXPECT_EQ(tall.rowBlocks, 16);
  for (auto [m, n] : {std::pair<int64_t, int64_t>{200, 3000}, {77, 513}, {1000, 1000}}) {
    cpu::GemmBlocks b = cpu::gemmBlocks(m, n);
    EXPECT_GE(b.rows * b.rowBlocks, m);
    EXPECT_GE(b.cols * b.colBlocks, n);
    EXPECT_LT(b.rows * (b.rowBlocks - 1), m); // no empty block
    EXPECT_LT(b.cols * (b.colBlocks - 1), n);
    EXPECT_LE(b.rowBlocks * b.colBlocks, cpu::kGemmBlocks);
  }
}

TEST(TaskGrid, CoversEachBlockOnceAndSplitsEvenly) {
  // The pool hands thread i the i-th run of ceil(tasks / threads) tasks.
  auto mostPerThread = [](const cpu::TaskGrid &grid, int64_t threads) {
    const int64_t chunk = (grid.size() + threads - 1) / threads;
    int64_t most = 0;
    for (int64_t first = 0; first < grid.size(); first += chunk) {
      int64_t work = 0;
      for (int64_t t = first; t < std::min(grid.size(), first + chunk); ++t) {
        int64_t p0, p1, g0, g1;
        grid.task(t, p0, p1, g0, g1);
        work += std::max<int64_t>(0, p1 - p0) * std::max<int64_t>(0, g1 - g0);
      }
      most = std::max(most, work);
    }
    return most;
  };
  for (int64_t panels : {0, 1, 2, 7, 22})
    for (int64_t groups : {0, 1, 3, 12, 13, 48})
      for (int64_t wanted : {1, 8, 16})
        for (int64_t threads : {1, 2, 4}) {
          const cpu::TaskGrid grid(panels, groups, wanted, threads);
          std::vector<int> seen((size_t)(panels * groups), 0);
          for (int64_t t = 0; t < grid.size(); ++t) {
            int64_t p0, p1, g0, g1;
            grid.task(t, p0, p1, g0, g1);
            for (int64_t p = p0; p < p1; ++p)
              for (int64_t g = g0; g < g1; ++g)
                ++seen[(size_t)(p * groups + g)];
          }
          for (int count : seen)
            ASSERT_EQ(count, 1) << panels << " panels, " << groups << " groups, wanted "
                                << wanted << ", threads " << threads;
          if (wanted == 1)
            EXPECT_EQ(grid.size(), 1); // a small product stays on the calling thread
        }
  // 12 column groups on 2 threads: 6 each, not 8 and 4; 3 groups on 2
  // threads with rows to split: even halves, not 2:1.
  EXPECT_EQ(mostPerThread(cpu::TaskGrid(22, 12, 8, 2), 2), 22 * 6);
  EXPECT_EQ(mostPerThread(cpu::TaskGrid(22, 3, 8, 2), 2), 33);
  EXPECT_LE(mostPerThread(cpu::TaskGrid(22, 3, 16, 4), 4), 18);
}

TEST(PackedGemm, EveryElementIsOneFmaChainWhateverTheBlocks) {
  // Edges of the micro-kernel (rows not a multiple of 12 / 6 / 4, partial
  // panels), long k chains (K = 300), row blocks (M > 96), a lhs with a row
  // stride (packed into panels when it has more than one and N >= 256),
  // and accumulation: each element must equal the sequential fma chain
  // exactly, serial or spread over tasks.
  for (int64_t M : {1, 5, 13, 40, 130})
    for (int64_t N : {1, 16, 17, 45, 100, 300}) // 300: the lhs packed too
      for (int64_t K : {1, 7, 300})
        for (bool accumulate : {false, true}) {
          const int64_t lda = K + 3, ldc = N + 2;
          auto a = randomFloats((size_t)(M * lda), 11), b = randomFloats((size_t)(K * N), 12);
          auto c0 = randomFloats((size_t)(M * ldc), 13);
          cpu::PackedMatrix packed;
          ASSERT_TRUE(cpu::packMatrix(b.data(), K, N, N, packed));
          std::vector<float> want = c0;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              float acc = accumulate ? c0[(size_t)(i * ldc + j)] : 0.0f;
              for (int64_t k = 0; k < K; ++k)
                acc = std::fma(a[(size_t)(i * lda + k)], b[(size_t)(k * N + j)], acc);
              want[(size_t)(i * ldc + j)] = acc;
            }
          for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
            std::vector<float> c = c0;
            cpu::packedGemm(ctx, M, a.data(), lda, packed, c.data(), ldc, accumulate);
            ASSERT_EQ(c, want) << M << " x " << N << " x " << K << " accumulate " << accumulate;
          }
        }
}

TEST(PackedGemm, HalfWeightsWidenedOnceAtLoad) {
  // An f16 ds.matmul on weights PackedConstants::addWidened packed: each
  // element is the fma chain over the widened operands, rounded to f16
  // once; the artifact's bytes are not read again (changed after packing).
  if (!cpu::packedGemmAvailable())
    GTEST_SKIP() << "no packed f32 GEMM on this CPU";
  const int64_t B = 2, M = 7, K = 45, N = 70;
  auto halves = [](size_t n, uint32_t seed) {
    std::vector<uint16_t> v(n);
    const std::vector<float> f = randomFloats(n, seed);
    for (size_t i = 0; i < n; ++i)
      v[i] = cpu::floatToHalf(3.0f * f[i]);
    return v;
  };
  const std::vector<uint16_t> a = halves((size_t)(B * M * K), 31);
  std::vector<uint16_t> w = halves((size_t)(K * N), 32);
  std::vector<uint16_t> want((size_t)(B * M * N));
  for (int64_t i = 0; i < B * M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k)
        acc = std::fma(cpu::halfToFloat(a[(size_t)(i * K + k)]),
                       cpu::halfToFloat(w[(size_t)(k * N + j)]), acc);
      want[(size_t)(i * N + j)] = cpu::floatToHalf(acc);
    }
  cpu::PackedConstants constants;
  ASSERT_TRUE(constants.addWidened(w.data(), DS_F16, K, N));
  std::fill(w.begin(), w.end(), cpu::floatToHalf(1000.0f));
  Tensors ts;
  Tensor *at = ts.make<uint16_t>(DS_F16, {B, M, K}, a);
  Tensor *wt = ts.make<uint16_t>(DS_F16, {K, N}, w);
  wt->data = w.data(); // the address the packed copy is found by
  for (KernelContext ctx : {serialContext(), chunkedContext(2)}) {
    ctx.packed = &constants;
    Tensor *y = ts.empty(DS_F16, {B, M, N});
    Status st = run("ds.matmul", {}, {at, wt}, {y}, ctx);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(values<uint16_t>(y), want);
  }
}

TEST(PackedGemm, SerialGemmsAreOneFmaChainToo) {
  // The attention tiles' GEMMs: B as panels packed from its transpose
  // (scores = Q Kᵀ), or row-major and read in place (P V; a last partial
  // vector of columns copied), K = 0 included.
  if (!cpu::packedGemmAvailable())
    GTEST_SKIP() << "no packed GEMM kernels on this CPU";
  for (int64_t M : {1, 13, 128})
    for (int64_t N : {16, 48, 250})
      for (int64_t K : {0, 1, 64, 257})
        for (bool accumulate : {false, true}) {
          const int64_t lda = K + 1, ldc = N + 3, ldb = N, ldbt = K + 5;
          auto a = randomFloats((size_t)(M * lda), 21), bt = randomFloats((size_t)(N * ldbt), 22);
          auto b = randomFloats((size_t)(K * ldb), 23), c0 = randomFloats((size_t)(M * ldc), 24);
          auto chain = [&](auto element) {
            std::vector<float> want = c0;
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) {
                float acc = accumulate ? c0[(size_t)(i * ldc + j)] : 0.0f;
                for (int64_t k = 0; k < K; ++k)
                  acc = std::fma(a[(size_t)(i * lda + k)], element(k, j), acc);
                want[(size_t)(i * ldc + j)] = acc;
              }
            return want;
          };
          std::vector<float> panels((size_t)((N + 15) / 16 * 16 * K), -1.0f);
          cpu::packTransposedPanels(bt.data(), N, K, ldbt, panels.data());
          if (N % 16) // the last panel's columns past N are zeros
            for (int64_t k = 0; k < K; ++k)
              for (int64_t j = N % 16; j < 16; ++j)
                ASSERT_EQ(panels[(size_t)((N / 16 * K + k) * 16 + j)], 0.0f);
          std::vector<float> c = c0;
          cpu::gemmSerialPanels(M, N, K, a.data(), lda, panels.data(), c.data(), ldc, accumulate);
          ASSERT_EQ(c, chain([&](int64_t k, int64_t j) { return bt[(size_t)(j * ldbt + k)]; }))
              << "panels " << M << " x " << N << " x " << K;
          c = c0;
          cpu::gemmSerialRowMajor(M, N, K, a.data(), lda, b.data(), ldb, c.data(), ldc,
                                  accumulate);
          ASSERT_EQ(c, chain([&](int64_t k, int64_t j) { return b[(size_t)(k * ldb + j)]; }))
              << "row-major " << M << " x " << N << " x " << K;
        }
}

TEST(PackedGemm, TransposedWeightPacksAsItsTranspose) {
  // A weight stored N x K (a tied output head's embedding table) packs as
  // the K x N right operand: the same panels as packing its transpose, so
  // the same products bit for bit. Partial last panels, N below one panel.
  for (int64_t N : {1, 15, 16, 33, 100})
    for (int64_t K : {1, 7, 130}) {
      auto bt = randomFloats((size_t)(N * K), 31);
      std::vector<float> b((size_t)(K * N));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
          b[(size_t)(k * N + n)] = bt[(size_t)(n * K + k)];
      cpu::PackedMatrix direct, transposed;
      ASSERT_TRUE(cpu::packMatrix(b.data(), K, N, N, direct));
      ASSERT_TRUE(cpu::packTransposedMatrix(bt.data(), N, K, transposed));
      ASSERT_EQ(transposed.K, K);
      ASSERT_EQ(transposed.N, N);
      const size_t floats = (size_t)(direct.panels() * K * cpu::PackedMatrix::kPanel);
      ASSERT_TRUE(std::equal(direct.data.get(), direct.data.get() + floats,
                             transposed.data.get()))
          << N << " x " << K;
      cpu::PackedConstants constants;
      ASSERT_TRUE(constants.addTransposed(bt.data(), N, K));
      EXPECT_NE(constants.findTransposed(bt.data(), N, K), nullptr);
      EXPECT_EQ(constants.find(bt.data(), K, N), nullptr); // kept apart from direct packs
      EXPECT_EQ(constants.findTransposed(bt.data(), N + 1, K), nullptr); // another shape
    }
}

TEST(PackedGemm, TransposedWeightKernelPackedOrNot) {
  // The kernel a matmul reading a transposed constant gets
  // (core/WeightTransposes.h): a [..., K] times the N x K constant read as
  // its transpose, through the packed panels when the session has them and
  // through a transposed-B GEMM when not; both against a sum in double.
  const int64_t N = 37, K = 70;
  auto bt = randomFloats((size_t)(N * K), 41), av = randomFloats((size_t)(2 * 3 * K), 42);
  std::vector<double> want((size_t)(6 * N));
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k)
        sum += (double)av[(size_t)(r * K + k)] * bt[(size_t)(n * K + k)];
      want[(size_t)(r * N + n)] = sum;
    }
  for (bool packed : {true, false}) {
    Tensors ts;
    const Tensor *a = ts.f32({2, 3, K}, av);
    Tensor *w = ts.f32({N, K}, bt);
    Tensor *y = ts.empty(DS_F32, {2, 3, N});
    // The packed copy is found by the constant's address.
    cpu::PackedConstants constants;
    if (packed)
      ASSERT_TRUE(constants.addTransposed(w->as<float>(), N, K));
    KernelContext ctx = serialContext();
    ctx.packed = packed ? &constants : nullptr;
    ASSERT_TRUE(cpu::transposedWeightMatmul().kernel(ctx, Attributes(), {a, w}, {y}).ok());
    std::vector<float> got = values<float>(y);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-4) << (packed ? "packed " : "unpacked ") << i;
    // A wrong contraction dim is refused, not read past.
    Tensor *bad = ts.f32({N, K + 1}, {});
    EXPECT_FALSE(cpu::transposedWeightMatmul().kernel(ctx, Attributes(), {a, bad}, {y}).ok());
  }
}

TEST(PackedGemm, PackedLeftOperandIsOneFmaChainToo) {
  // A convolution's weights (packed, left) times its columns (read in
  // place, row stride ldb): row panels cut short, a last column group
  // shorter than the vector width, k blocks (the packed layout's: one, two
  // and a short one), accumulation.
  for (int64_t M : {1, 7, 12, 30})
    for (int64_t N : {1, 16, 33, 70})
      for (int64_t K : {1, 9, 260, 600})
        for (bool accumulate : {false, true}) {
          const int64_t ldb = N + 5, ldc = N + 1;
          auto a = randomFloats((size_t)(M * K), 21), b = randomFloats((size_t)(K * ldb), 22);
          auto c0 = randomFloats((size_t)(M * ldc), 23);
          cpu::PackedLeftMatrix packed;
          ASSERT_TRUE(cpu::packLeftMatrix(a.data(), M, K, K, packed));
          std::vector<float> want = c0;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              float acc = accumulate ? c0[(size_t)(i * ldc + j)] : 0.0f;
              for (int64_t k = 0; k < K; ++k)
                acc = std::fma(a[(size_t)(i * K + k)], b[(size_t)(k * ldb + j)], acc);
              want[(size_t)(i * ldc + j)] = acc;
            }
          for (KernelContext ctx : {serialContext(), chunkedContext(2)}) {
            std::vector<float> c = c0;
            cpu::packedLeftGemm(ctx, packed, b.data(), ldb, N, c.data(), ldc, accumulate);
            ASSERT_EQ(c, want) << M << " x " << N << " x " << K << " accumulate " << accumulate;
          }
        }
}

TEST(PackedGemm, IndirectRightOperandIsOneFmaChainToo) {
  // B's row k read from B + offsets[k] (a convolution's windows in its
  // padded input): offsets in any order, overlapping rows, k blocks
  // (K > 256), row blocks (M > 48), a short last column group.
  for (int64_t M : {1, 12, 61})
    for (int64_t N : {5, 32, 77})
      for (int64_t K : {1, 9, 300}) {
        const int64_t span = 400, ldc = N + 3;
        auto a = randomFloats((size_t)(M * K), 61);
        auto b = randomFloats((size_t)(span + N + cpu::kIndirectSlack), 62);
        std::vector<int64_t> offsets((size_t)K);
        for (int64_t k = 0; k < K; ++k)
          offsets[(size_t)k] = (k * 37 + 11) % span;
        cpu::PackedLeftMatrix packed;
        ASSERT_TRUE(cpu::packLeftMatrix(a.data(), M, K, K, packed));
        std::vector<float> want((size_t)(M * ldc), -1.0f);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; ++k)
              acc = std::fma(a[(size_t)(i * K + k)], b[(size_t)(offsets[(size_t)k] + j)], acc);
            want[(size_t)(i * ldc + j)] = acc;
          }
        for (KernelContext ctx : {serialContext(), chunkedContext(2)}) {
          std::vector<float> c((size_t)(M * ldc), -1.0f); // the row gaps stay untouched
          cpu::packedLeftGemmIndirect(ctx, packed, b.data(), offsets.data(), N, c.data(), ldc,
                                      false);
          ASSERT_EQ(c, want) << M << " x " << N << " x " << K;
        }
      }
}

TEST(PackedGemm, ConstantsAreFoundByAddressAndShape) {
  auto b = randomFloats(6 * 20, 3);
  cpu::PackedConstants constants;
  ASSERT_TRUE(constants.add(b.data(), 6, 20));
  ASSERT_TRUE(constants.add(b.data(), 6, 20)); // once
  EXPECT_EQ(constants.size(), 1u);
  EXPECT_NE(constants.find(b.data(), 6, 20), nullptr);
  EXPECT_EQ(constants.find(b.data(), 20, 6), nullptr); // same bytes, other shape
  EXPECT_EQ(constants.find(b.data() + 1, 6, 20), nullptr);
}
} // namespace
