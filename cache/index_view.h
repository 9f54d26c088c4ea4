#pragma once
// The hot part of the cache index, in memory: what the hit path reads for every request (a
// blob's size, media type and the (registry, repository) pairs it was served under, with whether
// anonymously; the tags). Loaded from cache.db at start-up and shared by every worker; SQLite
// stays the durable copy, written behind by IndexWriter. Thread-safe: readers take a shared lock
// for the length of one lookup (a copy out), writers an exclusive one for one change.
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "cache/index.h"

namespace regcache::cache {

// One blob as the hit path sees it. `record` has no hit count or last access: those live in
// SQLite only (the evictor reads them there).
struct IndexedBlob {
  BlobRecord record;
  std::vector<BlobSource> sources;

  // True if served under any repository of `registry`.
  bool servedAtRegistry(const std::string &registry) const;
  // True if served under (registry, repository); with `anonymously`, only without credentials.
  bool servedUnder(const std::string &registry, const std::string &repository,
                   bool anonymously) const;
};

class IndexView {
public:
  IndexView() = default;
  IndexView(const IndexView &) = delete;
  IndexView &operator=(const IndexView &) = delete;

  // Replaces the whole view with what `index` holds (start-up). kIo when SQLite fails; the view
  // is then left empty.
  Result<void> load(Index &index);

  // A copy of the blob's entry, or nullopt when the digest is not indexed.
  std::optional<IndexedBlob> findBlob(const std::string &digest) const;
  std::optional<TagRecord> findTag(const std::string &registry, const std::string &repository,
                                   const std::string &tag, const std::string &accept) const;
  // "registry/repository" pairs with cached content, sorted and unique; with `publicOnly`, only
  // those with content served without credentials (Index::listRepositories, from memory).
  std::vector<std::string> listRepositories(bool publicOnly) const;
  // Blobs and bytes indexed (hits: always 0 here; SQLite counts them).
  CacheTotals totals() const;

  // The same changes as Index's methods of the same names, in memory only.
  void putBlob(const BlobRecord &blob, const BlobSource &source);
  void putTag(const TagRecord &tag);
  void markRepositoryPublic(const std::string &registry, const std::string &repository);
  void removeBlob(const std::string &digest);

private:
  static std::string tagKey(const std::string &registry, const std::string &repository,
                            const std::string &tag, const std::string &accept);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, IndexedBlob> blobs_; // by digest
  std::unordered_map<std::string, TagRecord> tags_;    // by tagKey()
  std::uint64_t bytes_ = 0;
};

} // namespace regcache::cache
