#pragma once
// Adds what the metrics counted since the last flush to the index's persistent counters, every
// interval and once more at stop, so `regcache cache stats` can report a hit ratio and bytes by
// source across restarts without the proxy writing SQLite on every request. The deltas go to the
// index writer's next batch (one thread writes cache.db).
#include <chrono>

#include "base/periodic_thread.h"
#include "proxy/observe/metrics.h"

namespace regcache::cache {
class IndexWriter;
}

namespace regcache::proxy {

class StatsFlusher {
public:
  // `writer` must outlive the flusher, and be stopped after it (stop() hands it the last deltas).
  StatsFlusher(cache::IndexWriter &writer, const Metrics &metrics,
               std::chrono::milliseconds interval);
  ~StatsFlusher();
  StatsFlusher(const StatsFlusher &) = delete;
  StatsFlusher &operator=(const StatsFlusher &) = delete;

  void start();
  void stop();
  // Hands the writer the counts since the last flush.
  void flushOnce();

private:
  cache::IndexWriter &writer_;
  const Metrics &metrics_;
  PersistentTotals flushed_;
  PeriodicThread thread_;
};

} // namespace regcache::proxy
