//===- OutputBlocksTest.cpp - memory kept for the copies of run outputs ---===//
//
// core/OutputBlocks: a released block serves the next run of about its size
// (no fresh pages to fault in), never a block still held, never one far
// larger than asked, and at most kKeptBlocks of at most kMaxKeptBytes stay
// kept. Then the same through ds_session_run_outputs.
//
//===----------------------------------------------------------------------===//
#include "core/OutputBlocks.h"
#include "RuntimeTestArtifacts.h"
#include "ds-runtime/ds_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace {
using dsrt::OutputBlocks;
using namespace dstest;

/// Empties the pool (other tests' released outputs may be in it).
void drain() {
  std::vector<std::pair<void *, size_t>> taken;
  // Take blocks of every size the pool may hold until none is kept.
  for (size_t bytes = 64; OutputBlocks::kept() && bytes <= OutputBlocks::kMaxKeptBytes; bytes *= 2)
    while (true) {
      const size_t before = OutputBlocks::kept();
      size_t capacity = 0;
      void *b = OutputBlocks::take(bytes, capacity);
      taken.emplace_back(b, capacity);
      if (OutputBlocks::kept() == before)
        break;
    }
  for (auto [b, capacity] : taken)
    std::free(b);
}

TEST(OutputBlocks, AReleasedBlockServesTheNextRequestOfItsSize) {
  drain();
  ASSERT_EQ(OutputBlocks::kept(), 0u);
  // Every block taken is given back exactly once, whatever the checks find
  // (giving one twice would free it twice).
  std::vector<std::pair<void *, size_t>> held;
  auto take = [&](size_t bytes) {
    size_t capacity = 0;
    void *b = OutputBlocks::take(bytes, capacity);
    EXPECT_NE(b, nullptr);
    EXPECT_EQ((uintptr_t)b % 64, 0u);
    EXPECT_GE(capacity, bytes);
    held.emplace_back(b, capacity);
    return b;
  };
  auto give = [&](void *b) {
    for (size_t i = 0; i < held.size(); ++i)
      if (held[i].first == b) {
        OutputBlocks::give(b, held[i].second);
        held.erase(held.begin() + (std::ptrdiff_t)i);
        return;
      }
    ADD_FAILURE() << "giving back a block not held";
  };
  void *a = take(1 << 20);
  void *b = take(1 << 20);
  EXPECT_NE(b, a);
  give(a);
  EXPECT_EQ(OutputBlocks::kept(), 1u);
  // Far smaller than the kept block: not worth its memory.
  void *small = take(1000);
  EXPECT_NE(small, a);
  EXPECT_EQ(OutputBlocks::kept(), 1u);
  // A little larger (outputs that grow by a token a run): the kept one.
  void *again = take((1 << 20) + 1000);
  EXPECT_EQ(again, a);
  EXPECT_EQ(OutputBlocks::kept(), 0u);
  // Held now: the next request of its size gets another block.
  void *third = take(1 << 20);
  EXPECT_NE(third, a);
  while (!held.empty())
    give(held.back().first);
  drain();
}

TEST(OutputBlocks, KeepsFewBlocksOfBoundedSize) {
  drain();
  size_t capacity = 0;
  void *huge = OutputBlocks::take(OutputBlocks::kMaxKeptBytes + 64, capacity);
  ASSERT_NE(huge, nullptr);
  OutputBlocks::give(huge, capacity); // freed, not kept
  EXPECT_EQ(OutputBlocks::kept(), 0u);
  std::vector<std::pair<void *, size_t>> blocks(OutputBlocks::kKeptBlocks + 2);
  for (auto &[b, room] : blocks)
    b = OutputBlocks::take(4096, room);
  for (auto [b, room] : blocks)
    OutputBlocks::give(b, room);
  EXPECT_EQ(OutputBlocks::kept(), OutputBlocks::kKeptBlocks);
  OutputBlocks::give(nullptr, 0);
  EXPECT_EQ(OutputBlocks::kept(), OutputBlocks::kKeptBlocks);
  drain();
  // Two blocks of 40% of the byte bound each fit; a third evicts the oldest.
  std::vector<std::pair<void *, size_t>> large(3);
  for (auto &[b, room] : large)
    b = OutputBlocks::take(OutputBlocks::kMaxKeptBytes / 5 * 2 / 1024 * 1000, room);
  for (auto [b, room] : large)
    OutputBlocks::give(b, room);
  EXPECT_EQ(OutputBlocks::kept(), 2u);
  drain();
}

TEST(OutputBlocks, RunsReuseReleasedOutputsAndNeverHeldOnes) {
  const int64_t n = 4096;
  std::string path = writeTempArtifact(buildArtifact(tanhAddArtifact(n)));
  ds_model *model = nullptr;
  ds_status s = ds_model_load(path.c_str(), &model);
  std::remove(path.c_str());
  ASSERT_EQ(s, nullptr) << ds_status_get_message(s);
  ds_session *session = nullptr;
  s = ds_session_create(model, nullptr, &session);
  ASSERT_EQ(s, nullptr) << ds_status_get_message(s);
  drain();
  std::vector<float> x((size_t)n);
  std::vector<int64_t> dims{n};
  auto run = [&](float scale) {
    for (int64_t i = 0; i < n; ++i)
      x[(size_t)i] = scale * (float)(i % 13 - 6);
    ds_tensor in{DS_F32, 1, dims.data(), x.data(), (size_t)n * 4};
    ds_outputs *outs = nullptr;
    ds_status st = ds_session_run_outputs(session, &in, 1, &outs);
    EXPECT_EQ(st, nullptr) << ds_status_get_message(st);
    return outs;
  };
  auto check = [&](ds_outputs *outs, float scale) {
    ds_tensor z;
    ASSERT_EQ(ds_outputs_get(outs, 1, &z), nullptr);
    int bad = 0;
    for (int64_t i = 0; i < n; ++i)
      bad += std::fabs(((const float *)z.data)[i] -
                       (std::tanh(scale * (float)(i % 13 - 6)) + tanhAddWeight(i))) > 1e-5f;
    EXPECT_EQ(bad, 0) << "scale " << scale;
  };
  auto dataOf = [](ds_outputs *outs) {
    ds_tensor t;
    EXPECT_EQ(ds_outputs_get(outs, 0, &t), nullptr);
    return t.data;
  };
  ds_outputs *first = run(0.5f);
  ASSERT_NE(first, nullptr);
  const void *firstData = dataOf(first);
  ds_outputs *held = run(0.25f); // while `first` is held: its own block
  ASSERT_NE(held, nullptr);
  EXPECT_NE(dataOf(held), firstData);
  check(first, 0.5f);
  check(held, 0.25f);
  ds_outputs_release(first);
  ds_outputs *next = run(2.0f); // the block `first` released
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(dataOf(next), firstData);
  check(next, 2.0f);
  check(held, 0.25f);
  ds_outputs_release(next);
  ds_outputs_release(held);
  ds_session_release(session);
  ds_model_release(model);
  drain();
}

} // namespace
