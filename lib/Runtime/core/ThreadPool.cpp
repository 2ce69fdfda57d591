//===- ThreadPool.cpp - fixed worker pool for parallel loops --------------===//
#include "core/ThreadPool.h"

#include <algorithm>

namespace dsrt {

ThreadPool::ThreadPool(int numThreads) {
  for (int i = 1; i < std::max(1, numThreads); ++i)
    workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::parallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)> &body) {
  if (n <= 0)
    return;
  int64_t maxChunks = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
  int64_t chunks = std::min<int64_t>(maxChunks, size());
  if (chunks <= 1 || workers_.empty()) {
    body(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    n_ = n;
    chunks_ = chunks;
    chunk_ = (n + chunks - 1) / chunks;
    nextChunk_ = 0;
    finished_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  // The caller works too, then waits for the stragglers.
  while (true) {
    int64_t c;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (nextChunk_ >= chunks_)
        break;
      c = nextChunk_++;
    }
    body(c * chunk_, std::min(n, (c + 1) * chunk_));
    std::lock_guard<std::mutex> lock(mutex_);
    ++finished_;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return finished_ == chunks_; });
  body_ = nullptr;
}

void ThreadPool::workerLoop(int) {
  uint64_t seen = 0;
  while (true) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return stop_ || (generation_ != seen && body_); });
    if (stop_)
      return;
    seen = generation_;
    while (body_ && nextChunk_ < chunks_) {
      int64_t c = nextChunk_++;
      const auto *body = body_;
      int64_t begin = c * chunk_, end = std::min(n_, (c + 1) * chunk_);
      lock.unlock();
      (*body)(begin, end);
      lock.lock();
      if (++finished_ == chunks_)
        done_.notify_all();
    }
  }
}

} // namespace dsrt
