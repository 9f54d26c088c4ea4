#pragma once
// A Prometheus histogram of durations in seconds, updated lock-free from every worker thread.
// The buckets are fixed (from 5 ms to 5 min: a manifest answered from disk takes milliseconds, a
// cold multi-GiB layer minutes), so every series of a family shares them and PromQL's
// histogram_quantile() can sum series across labels.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace regcache::proxy {

class LatencyHistogram {
public:
  // Upper bounds in seconds, "+Inf" excluded.
  static constexpr std::array<double, 15> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                  2.5,   5,    10,    30,   60,  120,  300};

  // Counts one duration (negative ones as 0).
  void observe(std::chrono::microseconds duration);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

  // Appends the _bucket, _sum and _count lines of `name` with `labels` (`route="blob"`, or empty)
  // to `out`. Nothing when no duration was observed, so idle label sets stay out of the scrape.
  void render(std::string &out, std::string_view name, std::string_view labels) const;

private:
  // Per bucket, not cumulative: each observation touches one counter. `render` sums them.
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sumMicros_{0};
  std::atomic<std::uint64_t> count_{0};
};

} // namespace regcache::proxy
