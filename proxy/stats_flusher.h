#pragma once
// Adds what the metrics counted since the last flush to the index's persistent counters, every
// interval and once more at stop, so `regcache cache stats` can report a hit ratio and bytes by
// source across restarts without the proxy writing SQLite on every request.
#include <chrono>
#include <filesystem>

#include "base/periodic_thread.h"
#include "base/result.h"
#include "proxy/metrics.h"

namespace regcache::proxy {

class StatsFlusher {
public:
  StatsFlusher(std::filesystem::path indexPath, const Metrics &metrics,
               std::chrono::milliseconds interval);
  ~StatsFlusher();
  StatsFlusher(const StatsFlusher &) = delete;
  StatsFlusher &operator=(const StatsFlusher &) = delete;

  void start();
  void stop();
  // Writes the counts since the last successful flush; on failure they wait for the next one.
  Result<void> flushOnce();

private:
  std::filesystem::path indexPath_;
  const Metrics &metrics_;
  PersistentTotals flushed_;
  PeriodicThread thread_;
};

} // namespace regcache::proxy
