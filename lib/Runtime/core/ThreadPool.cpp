//===- ThreadPool.cpp - fixed worker pool for parallel loops --------------===//
#include "core/ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <system_error>

#if defined(__x86_64__)
#include <immintrin.h>
#define DS_CPU_RELAX() _mm_pause()
#else
#define DS_CPU_RELAX() std::this_thread::yield()
#endif

namespace dsrt {
namespace {
/// How long an idle worker polls for the next loop before sleeping.
constexpr auto kSpinTime = std::chrono::microseconds(200);
} // namespace

Status ThreadPool::start(int numThreads) {
  if (!workers_.empty())
    return Status::error("the thread pool is already started");
  int wanted = std::max(1, numThreads) - 1;
  int started = 0;
  std::string why;
  try {
    workers_.reserve(wanted);
    // The loops a worker serves are those after this one: a worker thread
    // that starts running after the first loop began still joins it.
    const uint64_t seen = generation_.load(std::memory_order_acquire);
    claimed_.assign((size_t)wanted + 1, 0);
    for (; started < wanted; ++started)
      workers_.emplace_back([this, started, seen] { workerLoop((int)started + 1, seen); });
    return Status();
  } catch (const std::system_error &e) {
    why = e.code().message();
  } catch (const std::bad_alloc &) {
    why = "out of memory";
  }
  stopWorkers();
  // Thread 1 is the caller's: the workers are threads 2 to numThreads.
  return Status::error("cannot start worker thread " + std::to_string(started + 2) + " of " +
                       std::to_string(numThreads) + ": " + why + "; use fewer threads");
}

ThreadPool::~ThreadPool() { stopWorkers(); }

void ThreadPool::stopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
  workers_.clear();
}

int64_t ThreadPool::claimChunk(int self) {
  // Chunk `self` first: a loop's chunk i then runs on thread i whenever
  // that thread is ready, so consecutive loops over the same tensor find
  // their part of it in the core's own cache. A thread with no chunk of its
  // own takes none: it would take another thread's part (the caller, who
  // always comes, takes what is left).
  if (self >= chunks_)
    return -1;
  for (int64_t i = 0; i < chunks_; ++i) {
    int64_t c = (self + i) % chunks_;
    if (!claimed_[(size_t)c]) {
      claimed_[(size_t)c] = 1;
      return c;
    }
  }
  return -1;
}

void ThreadPool::runChunks(int self) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (body_) {
    int64_t c = claimChunk(self);
    if (c < 0)
      break;
    const auto *body = body_;
    int64_t begin = c * chunk_, end = std::min(n_, (c + 1) * chunk_);
    // After a failure the remaining chunks are only counted: the caller
    // rethrows, so their results would be thrown away.
    bool skip = error_ != nullptr;
    lock.unlock();
    std::exception_ptr error;
    if (!skip) {
      try {
        (*body)(begin, end);
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    if (error && !error_)
      error_ = std::move(error);
    finished_.fetch_add(1, std::memory_order_acq_rel);
  }
}

std::exception_ptr ThreadPool::finishLoop(int64_t chunks) {
  // Never leave while a worker may still call into the caller's body.
  while (finished_.load(std::memory_order_acquire) < chunks)
    DS_CPU_RELAX();
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = nullptr;
    error.swap(error_);
  }
  busy_.store(false, std::memory_order_release);
  return error;
}

void ThreadPool::parallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)> &body) {
  if (n <= 0)
    return;
  int64_t maxChunks = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
  int64_t chunks = std::min<int64_t>(maxChunks, size());
  // Chunks of ceil(n / chunks) items, and only as many as that fills: 5 items
  // in 4 chunks are 3 chunks of 2, 2, 1 (a fourth would be empty, [6, 5)).
  const int64_t chunk = (n + std::max<int64_t>(chunks, 1) - 1) / std::max<int64_t>(chunks, 1);
  chunks = (n + chunk - 1) / chunk;
  if (chunks <= 1 || workers_.empty()) {
    body(0, n);
    return;
  }
  // Another thread's loop holds the workers (or this is a loop inside a
  // loop's body): run this one alone rather than take over their state.
  bool idle = false;
  if (!busy_.compare_exchange_strong(idle, true, std::memory_order_acquire)) {
    body(0, n);
    return;
  }
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    n_ = n;
    chunks_ = chunks;
    chunk_ = chunk;
    std::fill(claimed_.begin(), claimed_.begin() + chunks, 0);
    error_ = nullptr;
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    wake = sleepers_ > 0;
  }
  // Waits for the workers however this frame is left (runChunks keeps the
  // body's exceptions in error_, but its mutex lock may still throw).
  struct Finisher {
    ThreadPool &pool;
    int64_t chunks;
    bool done = false;
    ~Finisher() {
      if (!done)
        pool.finishLoop(chunks);
    }
  } finisher{*this, chunks};
  if (wake)
    wake_.notify_all();
  runChunks(0); // the caller works too
  finisher.done = true;
  if (std::exception_ptr error = finishLoop(chunks))
    std::rethrow_exception(error);
}

void ThreadPool::workerLoop(int self, uint64_t seen) {
  while (true) {
    auto deadline = std::chrono::steady_clock::now() + kSpinTime;
    for (int i = 0; generation_.load(std::memory_order_acquire) == seen && !stop_; ++i) {
      DS_CPU_RELAX();
      if ((i & 255) == 255 && std::chrono::steady_clock::now() > deadline)
        break;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (generation_.load(std::memory_order_acquire) == seen && !stop_) {
        ++sleepers_;
        wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
        --sleepers_;
      }
      if (stop_)
        return;
      seen = generation_.load(std::memory_order_acquire);
    }
    runChunks(self);
  }
}

} // namespace dsrt
