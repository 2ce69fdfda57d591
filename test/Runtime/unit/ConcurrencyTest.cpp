//===- ConcurrencyTest.cpp - one session, many threads --------------------===//
//
// The concurrency contract of ds_runtime.h: runs on one session are
// serialized, ds_session_run_outputs hands each caller its own outputs, a
// session keeps its model alive, and the worker pool survives concurrent and
// nested loops. scripts/tsan-check.sh runs these under ThreadSanitizer.
//
//===----------------------------------------------------------------------===//
#include "RuntimeTestArtifacts.h"
#include "core/ThreadPool.h"
#include "ds-runtime/ds_runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace dstest;

namespace {
constexpr int kThreads = 8; // callers
constexpr int kRuns = 6;    // runs per caller
constexpr int64_t kN = 65536;

/// Every thread's own input, so that outputs mixed up between callers show.
std::vector<float> inputFor(int thread) {
  std::vector<float> x(kN);
  for (int64_t i = 0; i < kN; ++i)
    x[i] = (float)((i * 37 + thread * 101) % 1000) / 250.0f - 2.0f;
  return x;
}

ds::TensorRef ref(std::vector<float> &x) { return {DS_F32, {kN}, x.data(), x.size() * 4}; }

std::vector<float> copyOut(const ds_tensor &t) {
  const float *p = (const float *)t.data;
  return std::vector<float>(p, p + t.byte_size / 4);
}

/// Fails (and ends the process, since a hung thread cannot be stopped) when
/// `work` does not finish in time: a pool that deadlocks must not hang CI.
void withDeadline(std::function<void()> work, int seconds = 120) {
  auto done = std::async(std::launch::async, std::move(work));
  if (done.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
    std::fprintf(stderr, "FATAL: did not finish within %d s (deadlock?)\n", seconds);
    std::_Exit(1);
  }
  done.get();
}

/// Runs body(t) on `count` threads at once under withDeadline's deadline.
void onThreads(int count, const std::function<void(int)> &body) {
  withDeadline([&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < count; ++t)
      threads.emplace_back(body, t);
    for (std::thread &th : threads)
      th.join();
  });
}

class SharedSession : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = writeTempArtifact(buildArtifact(tanhAddArtifact(kN)));
    ASSERT_FALSE(path_.empty());
    model_ = std::make_unique<ds::Model>(path_);
    // The single-threaded answer, from a session of its own with one thread.
    ds::Session reference(*model_, 1);
    for (int t = 0; t < kThreads; ++t) {
      inputs_.push_back(inputFor(t));
      reference.run({ref(inputs_[t])});
      std::vector<std::vector<float>> outs;
      for (int o = 0; o < 4; ++o)
        outs.push_back(copyOut(reference.output(o)));
      expected_.push_back(std::move(outs));
    }
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void expectBitIdentical(int thread, int output, const ds_tensor &t, int *mismatches) {
    const std::vector<float> &want = expected_[thread][output];
    if (t.byte_size != want.size() * 4 || std::memcmp(t.data, want.data(), t.byte_size) != 0)
      ++*mismatches;
  }

  std::string path_;
  std::unique_ptr<ds::Model> model_;
  std::vector<std::vector<float>> inputs_;
  std::vector<std::vector<std::vector<float>>> expected_; ///< [thread][output]
};
} // namespace

TEST_F(SharedSession, RunOutputsFromEightThreadsMatchesSingleThreaded) {
  ds::Session session(*model_, 4);
  std::atomic<int> mismatches{0}, failures{0};
  onThreads(kThreads, [&](int t) {
    int bad = 0;
    for (int r = 0; r < kRuns; ++r) {
      ds::TensorRef input = ref(inputs_[t]);
      ds_tensor in = input.view();
      ds_outputs *outs = nullptr;
      if (ds_status s = ds_session_run_outputs(session.get(), &in, 1, &outs)) {
        ++failures;
        ds_status_release(s);
        continue;
      }
      if (ds_outputs_count(outs) != 4)
        ++bad;
      for (int o = 0; o < ds_outputs_count(outs); ++o) {
        ds_tensor out;
        if (ds_status s = ds_outputs_get(outs, o, &out)) {
          ds_status_release(s);
          ++bad;
          continue;
        }
        expectBitIdentical(t, o, out, &bad);
      }
      ds_outputs_release(outs);
    }
    mismatches += bad;
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

// Through the C++ wrapper, with the model handle released while the threads run.
TEST_F(SharedSession, RunOutputsWrapperOutlivesItsModel) {
  auto session = std::make_unique<ds::Session>(*model_, 2);
  model_.reset();
  std::atomic<int> mismatches{0};
  onThreads(4, [&](int t) {
    int bad = 0;
    for (int r = 0; r < 3; ++r) {
      ds::Outputs outs = session->runOutputs({ref(inputs_[t])});
      for (size_t o = 0; o < outs.size(); ++o)
        expectBitIdentical(t, (int)o, outs[o], &bad);
    }
    mismatches += bad;
  });
  EXPECT_EQ(mismatches.load(), 0);
}

// run + output is a two-call protocol: callers that share a session hold their
// own lock across both (the session's lock covers each call, not the pair).
TEST_F(SharedSession, RunThenOutputUnderAnExternalMutex) {
  ds::Session session(*model_, 4);
  std::mutex external;
  std::atomic<int> mismatches{0}, failures{0};
  onThreads(kThreads, [&](int t) {
    int bad = 0;
    for (int r = 0; r < kRuns; ++r) {
      std::lock_guard<std::mutex> lock(external);
      ds::TensorRef input = ref(inputs_[t]);
      ds_tensor in = input.view();
      if (ds_status s = ds_session_run(session.get(), &in, 1)) {
        ++failures;
        ds_status_release(s);
        continue;
      }
      for (int o = 0; o < 4; ++o) {
        ds_tensor out;
        if (ds_status s = ds_session_output(session.get(), o, &out)) {
          ds_status_release(s);
          ++bad;
          continue;
        }
        expectBitIdentical(t, o, out, &bad);
      }
    }
    mismatches += bad;
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

// Unsynchronized ds_session_run calls on one session are serialized: every
// call succeeds and nothing races (ThreadSanitizer checks the latter).
TEST_F(SharedSession, ConcurrentRunsAreSerialized) {
  ds::Session session(*model_, 4);
  std::atomic<int> failures{0};
  onThreads(kThreads, [&](int t) {
    for (int r = 0; r < kRuns; ++r) {
      ds::TensorRef input = ref(inputs_[t]);
      ds_tensor in = input.view();
      if (ds_status s = ds_session_run(session.get(), &in, 1)) {
        ++failures;
        ds_status_release(s);
      }
    }
  });
  EXPECT_EQ(failures.load(), 0);
  int bad = 0;
  ds::Outputs last = session.runOutputs({ref(inputs_[0])});
  for (int o = 0; o < 4; ++o)
    expectBitIdentical(0, o, last[o], &bad);
  EXPECT_EQ(bad, 0);
}

// Sessions are created and released on many threads while the model handle
// is released midway: the last session to go frees the model's data.
TEST_F(SharedSession, SessionsCreatedAndReleasedAroundAReleasedModel) {
  ds_model *model = nullptr;
  ds_status s = ds_model_load(path_.c_str(), &model);
  ASSERT_EQ(s, nullptr) << ds_status_get_message(s);
  std::atomic<int> created{0}, mismatches{0}, failures{0};
  withDeadline([&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        ds_session_options options;
        ds_session_options_init(&options);
        options.num_threads = 2;
        ds_session *session = nullptr;
        if (ds_status e = ds_session_create(model, &options, &session)) {
          ++failures;
          ds_status_release(e);
          ++created;
          return;
        }
        ++created;
        // Wait until the model handle is gone, then use the session.
        while (created.load() < kThreads)
          std::this_thread::yield();
        ds::TensorRef input = ref(inputs_[t]);
        ds_tensor in = input.view();
        ds_outputs *outs = nullptr;
        if (ds_status e = ds_session_run_outputs(session, &in, 1, &outs)) {
          ++failures;
          ds_status_release(e);
        } else {
          int bad = 0;
          for (int o = 0; o < ds_outputs_count(outs); ++o) {
            ds_tensor out;
            ds_outputs_get(outs, o, &out);
            expectBitIdentical(t, o, out, &bad);
          }
          mismatches += bad;
        }
        ds_session_release(session);
        ds_outputs_release(outs); // outputs outlive their session
      });
    while (created.load() < kThreads)
      std::this_thread::yield();
    ds_model_release(model);
    for (std::thread &th : threads)
      th.join();
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

// Two threads calling parallelFor on one pool at once: before the pool
// refused a second owner, they overwrote each other's loop (wrong sums) or
// waited forever for chunks that had been reset.
TEST(ThreadPool, ConcurrentCallersEachRunTheirWholeLoop) {
  dsrt::ThreadPool pool;
  ASSERT_TRUE(pool.start(4).ok());
  std::atomic<int> wrong{0};
  withDeadline([&] {
    std::vector<std::thread> callers;
    for (int c = 0; c < 4; ++c)
      callers.emplace_back([&, c] {
        for (int r = 0; r < 200; ++r) {
          const int64_t n = 1000 + c * 17 + r;
          std::vector<std::atomic<int>> hits(n);
          pool.parallelFor(n, 16, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i)
              hits[i].fetch_add(1, std::memory_order_relaxed);
          });
          for (int64_t i = 0; i < n; ++i)
            if (hits[i].load() != 1) {
              ++wrong;
              break;
            }
        }
      });
    for (std::thread &t : callers)
      t.join();
  });
  EXPECT_EQ(wrong.load(), 0);
}

// A loop started from inside a loop's body runs on the calling thread.
TEST(ThreadPool, NestedLoopsRunInline) {
  dsrt::ThreadPool pool;
  ASSERT_TRUE(pool.start(3).ok());
  std::atomic<int64_t> sum{0};
  withDeadline([&] {
    pool.parallelFor(64, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        pool.parallelFor(100, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    });
  });
  EXPECT_EQ(sum.load(), 64 * 100);
}

namespace {
/// Spins until `flag` is set or `patience` passes (a test that cannot
/// arrange its schedule still ends).
void awaitFlag(const std::atomic<bool> &flag,
               std::chrono::seconds patience = std::chrono::seconds(2)) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!flag.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
}

/// The pool still runs whole loops after a failed one.
bool poolRunsWholeLoops(dsrt::ThreadPool &pool) {
  std::atomic<int64_t> sum{0};
  pool.parallelFor(4096, 16, [&](int64_t b, int64_t e) { sum += e - b; });
  return sum.load() == 4096;
}
} // namespace

// Chunk i runs on thread i, loop after loop, so that the part of a tensor a
// thread wrote stays in its core's cache for the next loop. Before, chunks
// went to whichever thread came first. Each chunk waits until all have
// started, so no thread can take another's chunk after finishing its own.
TEST(ThreadPool, ChunksRunOnTheirOwnThreads) {
  dsrt::ThreadPool pool;
  ASSERT_TRUE(pool.start(3).ok());
  withDeadline([&] {
    const std::thread::id caller = std::this_thread::get_id();
    std::thread::id firstRunner[3];
    for (int r = 0; r < 50; ++r) {
      std::thread::id runner[3];
      std::atomic<int> started{0};
      std::atomic<bool> all{false};
      pool.parallelFor(3, 1, [&](int64_t b, int64_t e) {
        ASSERT_EQ(e, b + 1);
        runner[b] = std::this_thread::get_id();
        if (++started == 3)
          all = true;
        awaitFlag(all, std::chrono::seconds(30));
      });
      ASSERT_TRUE(all.load()) << "the three chunks did not run at once";
      EXPECT_EQ(runner[0], caller);
      EXPECT_NE(runner[1], caller);
      EXPECT_NE(runner[2], caller);
      EXPECT_NE(runner[1], runner[2]);
      if (r == 0)
        std::copy(runner, runner + 3, firstRunner);
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(runner[c], firstRunner[c]) << "chunk " << c << " moved to another thread in loop " << r;
    }
  });
}

// A loop of fewer chunks than threads: the threads without a chunk of their
// own take none (they would take another thread's part of the tensor), so
// chunk 1 of 2 runs on worker 1, never on worker 2.
TEST(ThreadPool, ThreadsWithoutAChunkTakeNone) {
  dsrt::ThreadPool pool;
  ASSERT_TRUE(pool.start(3).ok());
  withDeadline([&] {
    auto runLoop = [&](int64_t chunks, std::thread::id *runner) {
      std::atomic<int> started{0};
      std::atomic<bool> all{false};
      pool.parallelFor(chunks, 1, [&](int64_t b, int64_t) {
        runner[b] = std::this_thread::get_id();
        if (++started == chunks)
          all = true;
        awaitFlag(all, std::chrono::seconds(30));
      });
      return all.load();
    };
    std::thread::id threadOf[3];
    ASSERT_TRUE(runLoop(3, threadOf)); // chunk i on thread i (the test above)
    for (int r = 0; r < 50; ++r) {
      std::thread::id runner[2];
      ASSERT_TRUE(runLoop(2, runner)) << "the two chunks did not run at once";
      EXPECT_EQ(runner[0], threadOf[0]);
      EXPECT_EQ(runner[1], threadOf[1]) << "loop " << r;
    }
  });
}

// Fewer items than chunks of ceil(n / chunks) fill: 5 items over 4 threads
// are 3 chunks (2, 2, 1). Before, a fourth chunk ran as body(6, 5).
TEST(ThreadPool, NoChunkIsEmpty) {
  dsrt::ThreadPool pool;
  ASSERT_TRUE(pool.start(4).ok());
  withDeadline([&] {
    for (int64_t n = 1; n <= 40; ++n) {
      std::vector<std::atomic<int>> hits((size_t)n);
      std::atomic<int> empty{0};
      pool.parallelFor(n, 1, [&](int64_t b, int64_t e) {
        if (b >= e || b < 0 || e > n)
          ++empty;
        for (int64_t i = std::max<int64_t>(b, 0); i < std::min(e, n); ++i)
          hits[(size_t)i].fetch_add(1);
      });
      EXPECT_EQ(empty.load(), 0) << "n = " << n;
      for (int64_t i = 0; i < n; ++i)
        EXPECT_EQ(hits[(size_t)i].load(), 1) << "item " << i << " of " << n;
    }
  });
}

// A worker's chunk throws: before, std::terminate; now the caller gets it.
TEST(ThreadPool, ExceptionOnAWorkerReachesTheCaller) {
  dsrt::ThreadPool pool;
  ASSERT_TRUE(pool.start(4).ok());
  withDeadline([&] {
    const std::thread::id caller = std::this_thread::get_id();
    for (int r = 0; r < 20; ++r) {
      std::atomic<bool> callerIn{false}, workerIn{false};
      bool caught = false;
      try {
        pool.parallelFor(4, 1, [&](int64_t, int64_t) {
          // Caller and a worker each hold a chunk before the worker throws.
          if (std::this_thread::get_id() == caller) {
            callerIn = true;
            awaitFlag(workerIn);
            return;
          }
          workerIn = true;
          awaitFlag(callerIn);
          throw std::runtime_error("worker chunk failed");
        });
      } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "worker chunk failed";
      }
      EXPECT_TRUE(caught);
      EXPECT_TRUE(poolRunsWholeLoops(pool));
    }
  });
}

// The caller's chunk throws while workers are inside theirs: before, the
// exception left parallelFor with the workers still calling the (destroyed)
// body, and the next loop found the pool's state half reset.
TEST(ThreadPool, ExceptionOnTheCallerWaitsForTheWorkers) {
  dsrt::ThreadPool pool;
  ASSERT_TRUE(pool.start(4).ok());
  withDeadline([&] {
    const std::thread::id caller = std::this_thread::get_id();
    for (int r = 0; r < 10; ++r) {
      std::atomic<bool> callerIn{false}, workerIn{false};
      std::atomic<int> running{0};
      int runningAtCatch = -1;
      try {
        pool.parallelFor(4, 1, [&](int64_t, int64_t) {
          if (std::this_thread::get_id() == caller) {
            callerIn = true;
            awaitFlag(workerIn);
            throw std::runtime_error("caller chunk failed");
          }
          ++running;
          workerIn = true;
          awaitFlag(callerIn);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          --running;
        });
      } catch (const std::runtime_error &) {
        runningAtCatch = running.load();
      }
      EXPECT_EQ(runningAtCatch, 0) << "parallelFor left while a chunk still ran (or did not throw)";
      EXPECT_TRUE(poolRunsWholeLoops(pool));
    }
  });
}
