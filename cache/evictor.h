#pragma once
// Keeps the cache under its size limit: a thread of its own checks the index every interval and,
// past the limit, removes least recently used blobs until the cache is back under 90% of it.
// A blob being read stays readable (the file store: its descriptor outlives the unlink), and fills
// in flight are not in the index yet, so nothing being read or filled is ever cut short. The bytes
// fills in flight have reserved (FillBudget) count toward the limit: they will land in the index
// soon.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>

#include "base/periodic_thread.h"

namespace regcache::cache {

class BlobStore;
class FillBudget;
class IndexView;

struct EvictionOptions {
  std::uint64_t maxBytes = 0; // 0: no limit
  std::chrono::milliseconds interval{std::chrono::seconds(10)};
  const FillBudget *inFlight = nullptr; // must outlive the evictor; null: fills not counted
  // The index the loops read: an evicted blob leaves it before its row and file go, so no new
  // hit starts on it. Must outlive the evictor; null: none (tests, the `cache` commands).
  IndexView *view = nullptr;
};

class Evictor {
public:
  // `store` must outlive the evictor; the index is opened by path on the evictor's thread.
  Evictor(std::filesystem::path indexPath, BlobStore &store, EvictionOptions options);
  ~Evictor();
  Evictor(const Evictor &) = delete;
  Evictor &operator=(const Evictor &) = delete;

  void start();
  void stop();
  // One pass, on the caller's thread: returns how many blobs were evicted.
  std::size_t evictOnce();
  // A new --cache-max-size (SIGHUP), used from the next pass on; thread-safe. A limit of 0 stops
  // evicting; a non-zero limit takes effect only if the evictor started with one.
  void setLimit(std::uint64_t maxBytes) noexcept { maxBytes_.store(maxBytes); }
  // What every pass so far evicted (any thread may read them).
  std::uint64_t evictedBlobs() const { return evictedBlobs_.load(std::memory_order_relaxed); }
  std::uint64_t evictedBytes() const { return evictedBytes_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const { return maxBytes_.load(); }

private:
  std::filesystem::path indexPath_;
  BlobStore &store_;
  EvictionOptions options_;
  std::atomic<std::uint64_t> maxBytes_;
  std::atomic<std::uint64_t> evictedBlobs_{0};
  std::atomic<std::uint64_t> evictedBytes_{0};
  PeriodicThread thread_;
};

// The default limit: half of the filesystem that holds `dir` (0 if it cannot be read).
std::uint64_t defaultCacheLimit(const std::filesystem::path &dir);

} // namespace regcache::cache
