//===- ThreadPool.h - fixed worker pool for parallel loops -------*- C++ -*-===//
#ifndef DS_RUNTIME_CORE_THREADPOOL_H
#define DS_RUNTIME_CORE_THREADPOOL_H

#include "core/Tensor.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dsrt {

/// Runs parallel loops on `numThreads - 1` workers plus the calling thread.
/// Workers spin briefly after a loop before sleeping, since the next kernel's
/// loop usually follows within microseconds and a futex wake-up costs more
/// than small kernels. Chunk i of a loop runs on thread i (the caller is
/// thread 0) whenever that thread comes for it, and a thread that is done
/// takes the chunks no one has started: consecutive loops split alike over
/// one tensor then find their part in their core's own cache (moving it
/// from the other core cost more than the small kernels computed, on a
/// 2-core VM). The workers serve one loop at a time: a caller that
/// finds them busy with another thread's loop (or calls from inside a loop)
/// runs its loop alone on its own thread instead of waiting. An exception
/// thrown by the body (on any thread) is caught, the loop's other chunks are
/// skipped or awaited, and the first one is rethrown on the caller.
class ThreadPool {
public:
  ThreadPool() = default;
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;
  /// Starts the workers (once). When one cannot be created, stops those
  /// already started and returns the error (never throws).
  Status start(int numThreads);
  int size() const { return (int)workers_.size() + 1; }
  /// Calls body(begin, end) over chunks of [0, n) of at least `grain` items.
  /// Returns once no chunk runs any more; rethrows the body's first exception.
  void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &body);

private:
  /// Worker `self` (1 to size() - 1; the caller is 0), serving the loops
  /// after generation `seen`.
  void workerLoop(int self, uint64_t seen);
  /// Runs chunks of the current loop until none is left, chunk `self` first.
  void runChunks(int self);
  /// The next chunk thread `self` takes, or -1 (mutex_ held).
  int64_t claimChunk(int self);
  void stopWorkers();
  /// Waits for the current loop's chunks, clears it and frees the workers
  /// for the next owner; returns the loop's first exception, if any.
  std::exception_ptr finishLoop(int64_t chunks);

  std::vector<std::thread> workers_;
  /// Set by the caller whose loop the workers serve. An atomic flag, not a
  /// mutex: a loop inside a loop's body tests it on the thread that set it.
  std::atomic<bool> busy_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0}; ///< bumped for every loop
  std::atomic<int64_t> finished_{0};    ///< chunks done in the current loop
  std::atomic<bool> stop_{false};
  int sleepers_ = 0;                    ///< guarded by mutex_
  // The current loop; written under mutex_ before generation_ is bumped.
  const std::function<void(int64_t, int64_t)> *body_ = nullptr;
  int64_t n_ = 0, chunk_ = 0, chunks_ = 0;
  std::vector<char> claimed_; ///< per chunk; chunks_ <= size()
  std::exception_ptr error_; ///< the current loop's first exception (mutex_)
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_THREADPOOL_H
