#include "proxy/observe/stats_flusher.h"

#include "cache/index.h"
#include "cache/index_writer.h"

namespace regcache::proxy {

StatsFlusher::StatsFlusher(cache::IndexWriter &writer, const Metrics &metrics,
                           std::chrono::milliseconds interval)
    : writer_(writer), metrics_(metrics), thread_(interval, [this] { flushOnce(); }) {}

StatsFlusher::~StatsFlusher() { stop(); }

void StatsFlusher::start() { thread_.start(); }

void StatsFlusher::stop() {
  thread_.stop();
  flushOnce();
}

void StatsFlusher::flushOnce() {
  PersistentTotals now = metrics_.totals();
  std::vector<std::pair<std::string, std::uint64_t>> deltas;
  auto add = [&](const char *name, std::uint64_t current, std::uint64_t before) {
    if (current > before) deltas.emplace_back(name, current - before);
  };
  add(cache::kCounterCacheHits, now.cacheHits, flushed_.cacheHits);
  add(cache::kCounterCacheMisses, now.cacheMisses, flushed_.cacheMisses);
  add(cache::kCounterBytesFromCache, now.bytesFromCache, flushed_.bytesFromCache);
  add(cache::kCounterBytesFromUpstream, now.bytesFromUpstream, flushed_.bytesFromUpstream);
  if (deltas.empty()) return;
  writer_.addCounters(deltas);
  flushed_ = now;
}

} // namespace regcache::proxy
