#include "cache/evictor.h"

#include <sys/statvfs.h>

#include "base/log.h"
#include "cache/blob_store_sync.h"
#include "cache/fill_budget.h"
#include "cache/index.h"
#include "cache/index_view.h"

namespace regcache::cache {

Evictor::Evictor(std::filesystem::path indexPath, BlobStore &store, EvictionOptions options)
    : indexPath_(std::move(indexPath)), store_(store), options_(options),
      maxBytes_(options.maxBytes), thread_(options.interval, [this] { evictOnce(); }) {}

Evictor::~Evictor() { stop(); }

void Evictor::start() {
  if (options_.maxBytes != 0) thread_.start();
}

void Evictor::stop() { thread_.stop(); }

std::size_t Evictor::evictOnce() {
  const std::uint64_t maxBytes = maxBytes_.load();
  if (maxBytes == 0) return 0;
  auto index = Index::open(indexPath_);
  if (!index.ok()) {
    log::cache().warn("eviction skipped: {}", index.failure().detail);
    return 0;
  }
  auto totals = index.value()->totals();
  if (!totals.ok()) return 0;
  std::uint64_t inFlight = options_.inFlight != nullptr ? options_.inFlight->reserved() : 0;
  std::uint64_t bytes = totals->bytes + inFlight;
  if (bytes <= maxBytes) return 0;
  std::uint64_t target = maxBytes / 10 * 9;
  std::size_t evicted = 0;
  while (bytes > target) {
    auto oldest = index.value()->leastRecentlyUsed(64);
    if (!oldest.ok() || oldest->empty()) break;
    for (const auto &blob : oldest.value()) {
      // The memory view goes first, then the row: from then on nobody starts reading this file.
      if (options_.view != nullptr) options_.view->removeBlob(blob.digest);
      if (!index.value()->removeBlob(blob.digest).ok()) continue;
      if (auto digest = parseDigest(blob.digest)) {
        if (auto removed = removeNow(store_, *digest); !removed.ok()) {
          log::cache().warn("evicting {}: {}", blob.digest, removed.failure().detail);
        }
      }
      bytes -= std::min(bytes, blob.size);
      ++evicted;
      evictedBlobs_.fetch_add(1, std::memory_order_relaxed);
      evictedBytes_.fetch_add(blob.size, std::memory_order_relaxed);
      if (bytes <= target) break;
    }
  }
  log::cache().info("evicted {} blob(s): cache at {} bytes ({} of them fills in flight), limit {}",
                    evicted, bytes, inFlight, maxBytes);
  return evicted;
}

std::uint64_t defaultCacheLimit(const std::filesystem::path &dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return 0;
  return static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize / 2;
}

} // namespace regcache::cache
