#include "proxy/stats_flusher.h"

#include "base/log.h"
#include "cache/index.h"

namespace regcache::proxy {

StatsFlusher::StatsFlusher(std::filesystem::path indexPath, const Metrics &metrics,
                           std::chrono::milliseconds interval)
    : indexPath_(std::move(indexPath)), metrics_(metrics), thread_(interval, [this] {
        if (auto flushed = flushOnce(); !flushed.ok()) {
          log::cache().warn("cache statistics not saved: {}", flushed.failure().detail);
        }
      }) {}

StatsFlusher::~StatsFlusher() { stop(); }

void StatsFlusher::start() { thread_.start(); }

void StatsFlusher::stop() {
  thread_.stop();
  if (auto flushed = flushOnce(); !flushed.ok()) {
    log::cache().warn("cache statistics not saved at exit: {}", flushed.failure().detail);
  }
}

Result<void> StatsFlusher::flushOnce() {
  PersistentTotals now = metrics_.totals();
  std::vector<std::pair<std::string, std::uint64_t>> deltas;
  auto add = [&](const char *name, std::uint64_t current, std::uint64_t before) {
    if (current > before) deltas.emplace_back(name, current - before);
  };
  add(cache::kCounterCacheHits, now.cacheHits, flushed_.cacheHits);
  add(cache::kCounterCacheMisses, now.cacheMisses, flushed_.cacheMisses);
  add(cache::kCounterBytesFromCache, now.bytesFromCache, flushed_.bytesFromCache);
  add(cache::kCounterBytesFromUpstream, now.bytesFromUpstream, flushed_.bytesFromUpstream);
  if (deltas.empty()) return {};
  auto index = cache::Index::open(indexPath_);
  if (!index.ok()) return index.failure();
  if (auto added = index.value()->addCounters(deltas); !added.ok()) return added;
  flushed_ = now;
  return {};
}

} // namespace regcache::proxy
