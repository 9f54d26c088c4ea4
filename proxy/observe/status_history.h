#pragma once
// The last hour of the proxy's counters, one sample a minute, in memory: the status page draws
// its charts and "last hour" figures from the differences between samples. Samples are
// cumulative counters, so a missed minute (a busy sampler) costs resolution, never accuracy.
// Thread-safe: a sampler thread records, admin requests read.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "proxy/observe/metrics.h"

namespace regcache::proxy {

struct CounterSample {
  std::chrono::system_clock::time_point at;
  std::uint64_t hits =
      0; // answered from disk on cached routes (HIT, STALE, REVALIDATED, COALESCED)
  std::uint64_t misses = 0;
  std::uint64_t bytesFromCache = 0;
  std::uint64_t bytesFromUpstream = 0;
  std::uint64_t evictedBlobs = 0;
  std::uint64_t evictedBytes = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(UpstreamError::kCount)> upstreamErrors{};
};

// `later` minus `earlier`, field by field (`at` is the later one's).
CounterSample difference(const CounterSample &later, const CounterSample &earlier);

class StatusHistory {
public:
  static constexpr std::size_t kMinutes = 60;

  // Keeps `sample` if it is the first of its wall-clock minute (or the first at all); samples
  // older than an hour before it are dropped. Samples must come in time order.
  void record(const CounterSample &sample);
  // The kept samples, oldest first: at most kMinutes + 1, so that kMinutes differences cover
  // the last hour.
  std::vector<CounterSample> samples() const;

private:
  mutable std::mutex mutex_;
  std::deque<CounterSample> samples_;
};

// The process counters now; eviction counts are the caller's (the evictor is not the
// metrics').
CounterSample sampleOf(const Metrics &metrics, std::chrono::system_clock::time_point at,
                       std::uint64_t evictedBlobs, std::uint64_t evictedBytes);

} // namespace regcache::proxy
