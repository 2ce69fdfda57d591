//===- ThreadPool.h - fixed worker pool for parallel loops -------*- C++ -*-===//
#ifndef DS_RUNTIME_CORE_THREADPOOL_H
#define DS_RUNTIME_CORE_THREADPOOL_H

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dsrt {

/// Runs parallel loops on `numThreads - 1` workers plus the calling thread.
/// One loop at a time (kernels run one after another).
class ThreadPool {
public:
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  int size() const { return (int)workers_.size() + 1; }
  /// Calls body(begin, end) over chunks of [0, n) of at least `grain` items.
  void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &body);

private:
  void workerLoop(int index);
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)> *body_ = nullptr;
  int64_t n_ = 0, chunk_ = 0, chunks_ = 0;
  int64_t nextChunk_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_THREADPOOL_H
