#pragma once
// What the tiered store did with its remote tier (the bucket), for /metrics and the status page.
// Plain atomics: the store's threads and the loops all count into one instance, which the store
// owns and the metrics renderer reads.
#include <atomic>
#include <cstdint>

namespace regcache::cache {

struct TierCounters {
  // Operations asked of the remote tier (stat, open, begin, commit, remove, list, sweep).
  std::atomic<std::uint64_t> requests{0};
  // Of those, the ones that failed for a reason other than "not there" (down, refused, 5xx).
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> bytesRead{0};    // from the remote tier, verified or not
  std::atomic<std::uint64_t> bytesWritten{0}; // handed to remote uploads
  std::atomic<std::uint64_t> uploadsCompleted{0};
  std::atomic<std::uint64_t> uploadsAborted{0}; // failed, too slow, or their fill failed
  std::atomic<std::uint64_t> hits{0};           // remote reads that verified to their last byte
  std::atomic<std::uint64_t> mismatches{0};     // remote objects whose bytes were wrong (removed)
  // Times the remote tier could not help and the store went on without it (local or none).
  std::atomic<std::uint64_t> fallbacks{0};

  void add(std::atomic<std::uint64_t> &counter, std::uint64_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

} // namespace regcache::cache
