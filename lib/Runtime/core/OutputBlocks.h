//===- OutputBlocks.h - memory kept for the copies of run outputs -*- C++ -*-===//
//
// ds_session_run_outputs copies each run's outputs into one block that the
// caller owns until ds_outputs_release. A block fresh from the system costs
// a page fault per 4 KiB at its first write, and glibc hands large blocks
// back to the system when they are freed, so a loop of runs faulted its
// outputs in every time: a LLaMA decode step's 8 MiB of KV-cache outputs
// took 2,058 faults a run, 4-26 ms on top of its 20 on a VM (onnxruntime
// reuses its output buffers). Released blocks are kept for later runs
// instead, a few and of bounded size, process-wide (outputs may outlive
// their session). Not fork-safe while another thread holds the pool's lock
// (as any mutex-guarded state).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_OUTPUTBLOCKS_H
#define DS_RUNTIME_CORE_OUTPUTBLOCKS_H

#include <cstddef>

namespace dsrt {

struct OutputBlocks {
  /// Blocks kept at most, and their capacities' largest sum: the oldest
  /// kept go back to the system first, and a larger block at once (a run
  /// whose outputs are that large dwarfs its page faults).
  static constexpr size_t kKeptBlocks = 4;
  static constexpr size_t kMaxKeptBytes = size_t(64) << 20;

  /// A 64-byte aligned block of at least `bytes` (> 0) and its capacity: a
  /// kept one with at most twice the room needed, else a new one an eighth
  /// larger than asked (room to grow); null when out of memory.
  static void *take(size_t bytes, size_t &capacity);
  /// Takes back a block from take() (kept, or freed). Null is ignored.
  /// Never allocates or throws: it runs in destructors.
  static void give(void *block, size_t capacity) noexcept;
  /// Blocks kept now (for tests).
  static size_t kept();
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_OUTPUTBLOCKS_H
