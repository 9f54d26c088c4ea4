#include "proxy/observe/status_history.h"

namespace regcache::proxy {

namespace {

std::int64_t minuteOf(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::minutes>(at.time_since_epoch()).count();
}

std::uint64_t minus(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }

} // namespace

CounterSample difference(const CounterSample &later, const CounterSample &earlier) {
  CounterSample d;
  d.at = later.at;
  d.hits = minus(later.hits, earlier.hits);
  d.misses = minus(later.misses, earlier.misses);
  d.bytesFromCache = minus(later.bytesFromCache, earlier.bytesFromCache);
  d.bytesFromUpstream = minus(later.bytesFromUpstream, earlier.bytesFromUpstream);
  d.evictedBlobs = minus(later.evictedBlobs, earlier.evictedBlobs);
  d.evictedBytes = minus(later.evictedBytes, earlier.evictedBytes);
  for (std::size_t k = 0; k < d.upstreamErrors.size(); ++k) {
    d.upstreamErrors[k] = minus(later.upstreamErrors[k], earlier.upstreamErrors[k]);
  }
  return d;
}

void StatusHistory::record(const CounterSample &sample) {
  std::lock_guard lock(mutex_);
  if (!samples_.empty() && minuteOf(samples_.back().at) >= minuteOf(sample.at)) return;
  samples_.push_back(sample);
  while (samples_.size() > kMinutes + 1 ||
         (!samples_.empty() && sample.at - samples_.front().at > std::chrono::minutes(61))) {
    samples_.pop_front();
  }
}

std::vector<CounterSample> StatusHistory::samples() const {
  std::lock_guard lock(mutex_);
  return {samples_.begin(), samples_.end()};
}

CounterSample sampleOf(const Metrics &metrics, std::chrono::system_clock::time_point at,
                       std::uint64_t evictedBlobs, std::uint64_t evictedBytes) {
  PersistentTotals totals = metrics.totals();
  CounterSample s;
  s.at = at;
  s.hits = totals.cacheHits;
  s.misses = totals.cacheMisses;
  s.bytesFromCache = totals.bytesFromCache;
  s.bytesFromUpstream = totals.bytesFromUpstream;
  s.evictedBlobs = evictedBlobs;
  s.evictedBytes = evictedBytes;
  for (std::size_t k = 0; k < s.upstreamErrors.size(); ++k) {
    s.upstreamErrors[k] = metrics.upstreamErrors(static_cast<UpstreamError>(k));
  }
  return s;
}

} // namespace regcache::proxy
