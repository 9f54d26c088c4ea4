#pragma once
// The cache index: <data-dir>/cache.db, SQLite in WAL mode with a versioned schema. It records
// only verified, fsynced blobs (a row exists only for a file that is complete), the (registry,
// repository) pairs each digest was served under, and tags. Each thread opens its own Index.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "base/handle.h"
#include "base/result.h"

namespace regcache::cache {

using DbPtr = Handle<sqlite3, sqlite3_close_v2>;
using StmtPtr = Handle<sqlite3_stmt, sqlite3_finalize>;
using TimePoint = std::chrono::system_clock::time_point;

struct BlobRecord {
  std::string digest; // "sha256:..."
  std::uint64_t size = 0;
  std::string mediaType;
  bool manifest = false;
  TimePoint createdAt;
  TimePoint lastAccess;
  std::uint64_t hits = 0;
};

// Where a digest was served: upstream sent it under this repository, to a client without
// credentials (anonymous) or with them.
struct BlobSource {
  std::string registry;
  std::string repository;
  bool anonymous = false;
  bool operator==(const BlobSource &) const = default;
};

struct TagRecord {
  std::string registry;   // "registry-1.docker.io"
  std::string repository; // "library/alpine"
  std::string tag;
  std::string accept; // the client's Accept, normalized: one cache entry per media type set
  std::string digest;
  std::string mediaType;
  TimePoint checkedAt; // last confirmed with upstream
};

// The persistent counters' names (see Index::addCounters).
inline constexpr const char *kCounterCacheHits = "cache_hits"; // answered from disk
inline constexpr const char *kCounterCacheMisses = "cache_misses";
inline constexpr const char *kCounterBytesFromCache = "bytes_from_cache";
inline constexpr const char *kCounterBytesFromUpstream = "bytes_from_upstream";

struct CacheTotals {
  std::uint64_t blobs = 0;
  std::uint64_t bytes = 0;
  std::uint64_t hits = 0;
};

// One change in a batch (Index::apply, written by IndexWriter): the same as Index's method of
// the same name.
struct IndexChange {
  enum class Kind { kPutBlob, kPutTag, kMarkRepositoryPublic, kRemoveBlob };
  Kind kind = Kind::kPutBlob;
  BlobRecord blob;   // kPutBlob; kRemoveBlob uses only the digest
  BlobSource source; // kPutBlob; kMarkRepositoryPublic uses only registry and repository
  TagRecord tag;     // kPutTag
};

// Hits on one digest since the last batch.
struct HitCount {
  std::uint64_t count = 0;
  TimePoint last;
};

class Index {
public:
  // The schema version this build writes; migrations bring older files up to it.
  static constexpr int kSchemaVersion = 3;

  // Opens (creating if needed) and migrates. kInvalidInput for a file written by a newer
  // regcache; kIo when SQLite fails.
  // Waits up to kDefaultBusyTimeout for a lock held by another connection.
  static Result<std::unique_ptr<Index>> open(const std::filesystem::path &path);

  // How long a statement waits for another connection's lock before failing with kIo
  // (SQLITE_BUSY). Open waits kDefaultBusyTimeout; a connection used on an event loop sets a
  // few milliseconds, so a busy index costs a skipped write rather than a stalled loop.
  static constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};
  void setBusyTimeout(std::chrono::milliseconds timeout);

  int schemaVersion() const;

  // Records a verified blob (or manifest) and that it was served under (registry, repository),
  // to a client without credentials or not.
  Result<void> putBlob(const BlobRecord &blob, const std::string &registry,
                       const std::string &repository, bool anonymous = true);
  Result<std::optional<BlobRecord>> findBlob(const std::string &digest);
  // True if the digest was ever served under (registry, repository); with `anonymously`, only
  // counting fetches made without credentials.
  // Upstream lets anyone read the repository: everything served under it counts as served
  // without credentials from now on.
  Result<void> markRepositoryPublic(const std::string &registry, const std::string &repository);
  Result<bool> servedUnder(const std::string &digest, const std::string &registry,
                           const std::string &repository, bool anonymously = false);
  // True if the digest was served under any repository of `registry`. Only such a registry has
  // shown it holds these bytes, so only its HEAD may confirm a client's access to them.
  Result<bool> servedAtRegistry(const std::string &digest, const std::string &registry);
  Result<void> recordHit(const std::string &digest, TimePoint at);
  // Every change in order, then the hit counts (added, last access raised to `last`), then the
  // counter deltas (as addCounters), in one transaction: all of it is written or none.
  Result<void> apply(const std::vector<IndexChange> &changes,
                     const std::map<std::string, HitCount> &hits,
                     const std::map<std::string, std::uint64_t> &counters = {});
  // SQLite's PRAGMA data_version: changes whenever another connection commits to the file (never
  // for this connection's own commits). -1 if it cannot be read.
  std::int64_t dataVersion() const;
  Result<void> removeBlob(const std::string &digest);

  Result<void> putTag(const TagRecord &tag);
  Result<std::optional<TagRecord>> findTag(const std::string &registry,
                                           const std::string &repository, const std::string &tag,
                                           const std::string &accept);
  Result<std::vector<TagRecord>> listTags();
  // "registry/repository" pairs with cached content, sorted. With `publicOnly`, only those with
  // content served without credentials (or found public by the probe).
  Result<std::vector<std::string>> listRepositories(bool publicOnly = false);

  // Least recently used first, at most `limit`.
  Result<std::vector<BlobRecord>> leastRecentlyUsed(std::size_t limit);
  Result<CacheTotals> totals();
  Result<std::vector<std::string>> allDigests();
  // Every blob row, then every source row, in no particular order (loading IndexView). Stops at
  // the first SQLite failure.
  Result<void> scanBlobs(const std::function<void(BlobRecord &&)> &visit);
  Result<void> scanSources(const std::function<void(std::string &&digest, BlobSource &&)> &visit);

  // Purging (`regcache cache rm`). Removes the tags of a repository, or one tag of it.
  Result<std::size_t> removeTags(const std::string &registry, const std::string &repository,
                                 const std::optional<std::string> &tag);
  // Forgets that blobs were served under (registry, repository): all of them, or `only` these.
  // Blobs no longer served under any repository are removed; their digests are returned so the
  // caller can delete the files.
  Result<std::vector<std::string>> forgetRepository(const std::string &registry,
                                                    const std::string &repository,
                                                    const std::vector<std::string> *only);
  // Tags whose manifest is no longer stored.
  Result<std::size_t> removeDanglingTags();

  // Running totals kept across restarts (hits, bytes by source); each delta is added in one
  // transaction, so several processes may flush into the same file.
  Result<void> addCounters(const std::vector<std::pair<std::string, std::uint64_t>> &deltas);
  Result<std::map<std::string, std::uint64_t>> counters();

private:
  explicit Index(DbPtr db) : db_(std::move(db)) {}
  Result<void> exec(const char *sql);
  void rollback();
  // COMMIT, and ROLLBACK if it fails so no transaction is left open.
  Result<void> commit();
  Result<StmtPtr> prepare(const char *sql);
  Result<void> migrate();
  Failure sqliteFailure(const std::string &what) const;

  DbPtr db_;
};

} // namespace regcache::cache
