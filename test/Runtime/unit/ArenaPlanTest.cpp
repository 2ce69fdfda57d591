//===- ArenaPlanTest.cpp - the shared arena planner -----------------------===//
#include "core/ArenaPlan.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {
using dsrt::BufferLifetime;
using dsrt::planArena;

TEST(ArenaPlan, BuffersAliveTogetherDoNotOverlap) {
  // a: steps 0-1, b: 1-2, c: 2-3. a and c never overlap in time and share.
  std::vector<BufferLifetime> buffers{{0, 1, 100}, {1, 2, 64}, {2, 3, 100}};
  uint64_t arena = 0;
  std::vector<uint64_t> offsets = planArena(buffers, 64, arena);
  ASSERT_EQ(offsets.size(), 3u);
  EXPECT_EQ(offsets[0], offsets[2]);
  EXPECT_TRUE(offsets[1] >= offsets[0] + 128 || offsets[0] >= offsets[1] + 64);
  EXPECT_EQ(arena, 192u); // 128 (100 aligned) + 64
  for (uint64_t o : offsets)
    EXPECT_EQ(o % 64, 0u);
}

TEST(ArenaPlan, SizesThatOverflowSaturateInsteadOfWrapping) {
  // Two live buffers whose sizes add past 2^64: the plan must not wrap to a
  // small arena (callers refuse anything above their cap).
  std::vector<BufferLifetime> buffers{{0, 1, UINT64_MAX - 100}, {0, 1, 1000}};
  uint64_t arena = 0;
  planArena(buffers, 64, arena);
  EXPECT_EQ(arena, UINT64_MAX);
  buffers = {{0, 0, UINT64_MAX}};
  planArena(buffers, 64, arena);
  EXPECT_EQ(arena, UINT64_MAX);
}

TEST(ArenaPlan, EmptyPlan) {
  uint64_t arena = 7;
  EXPECT_TRUE(planArena({}, 64, arena).empty());
  EXPECT_EQ(arena, 0u);
}
} // namespace
