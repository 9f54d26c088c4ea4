#include "proxy/observe/latency_histogram.h"

#include <spdlog/fmt/fmt.h>

namespace regcache::proxy {

void LatencyHistogram::observe(std::chrono::microseconds duration) {
  auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0));
  double seconds = static_cast<double>(micros) / 1e6;
  std::size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket])
    ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sumMicros_.fetch_add(micros, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void LatencyHistogram::render(std::string &out, std::string_view name,
                              std::string_view labels) const {
  if (count() == 0) return;
  std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string bound = i < kBounds.size() ? fmt::format("{}", kBounds[i]) : "+Inf";
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, bound, cumulative);
  }
  std::string braces = labels.empty() ? std::string() : "{" + std::string(labels) + "}";
  // The count is the +Inf bucket's, so a scrape that races an observe stays self-consistent.
  out += fmt::format("{}_sum{} {:.6f}\n", name, braces,
                     static_cast<double>(sumMicros_.load(std::memory_order_relaxed)) / 1e6);
  out += fmt::format("{}_count{} {}\n", name, braces, cumulative);
}

} // namespace regcache::proxy
