#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <vector>

#include "app/commands.h"
#include "app/units.h"
#include "base/data_dir_lock.h"
#include "base/json_text.h"
#include "base/oci/digest.h"
#include "base/oci/manifest_refs.h"
#include "base/sha256.h"
#include "base/time_format.h"
#include "base/unique_fd.h"
#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "cache/index.h"
#include "cache/reconcile.h"

namespace regcache::app {
namespace {

constexpr std::size_t kVerifyChunk = 1 << 20; // bytes hashed per read by `cache verify`

std::unique_ptr<cache::Index> openIndex(const ParsedCommand &command) {
  auto path = command.dataDir / "cache.db";
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("no cache in " + command.dataDir.string());
  }
  auto index = cache::Index::open(path);
  if (!index.ok()) throw std::runtime_error(index.failure().detail);
  return std::move(index.value());
}

// The data dir lock taken shared (see base/data_dir_lock.h): held, no server runs or can start
// while the command works; nullopt, a server is running and its live files must be left alone.
std::optional<DataDirLock> lockBesideServer(const ParsedCommand &command) {
  auto locked = DataDirLock::tryLockShared(command.dataDir);
  if (!locked.ok()) throw std::runtime_error(locked.failure().detail);
  if (!locked->has_value()) {
    std::string holder = DataDirLock::serverHolder(command.dataDir);
    std::cerr << "a regcache server" << (holder.empty() ? "" : " (" + holder + ")")
              << " is running on " << command.dataDir.string()
              << ": leaving its fills in progress alone\n";
  }
  return std::move(locked.value());
}

// Columns padded to their widest cell, sizes right-aligned (column 2).
void printTable(const std::array<std::string, 5> &header,
                const std::vector<std::array<std::string, 5>> &rows) {
  std::array<std::size_t, 5> width{};
  for (std::size_t c = 0; c < 5; ++c) {
    width[c] = header[c].size();
    for (const auto &row : rows)
      width[c] = std::max(width[c], row[c].size());
  }
  auto print = [&](const std::array<std::string, 5> &row) {
    for (std::size_t c = 0; c < 5; ++c) {
      std::string pad(width[c] - row[c].size(), ' ');
      std::cout << (c == 2 ? pad + row[c] : row[c] + (c == 4 ? "" : pad)) << (c == 4 ? "\n" : "  ");
    }
  };
  print(header);
  for (const auto &row : rows)
    print(row);
}

std::string hitRatio(std::uint64_t hits, std::uint64_t misses) {
  if (hits + misses == 0) return "-";
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%",
                100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
  return text;
}

} // namespace

// "12 s ago", "5 min ago", "3 h ago", "2 d ago": a terminal reader's time.
static std::string ago(std::chrono::system_clock::time_point at) {
  auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - at)
          .count();
  if (seconds < 0) return "just now";
  if (seconds < 120) return std::to_string(seconds) + " s ago";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min ago";
  if (seconds < 172800) return std::to_string(seconds / 3600) + " h ago";
  return std::to_string(seconds / 86400) + " d ago";
}

static std::string isoTime(std::chrono::system_clock::time_point at) {
  return formatUtcTime(at, "%Y-%m-%dT%H:%M:%SZ");
}

int runCacheList(const ParsedCommand &command) {
  auto index = openIndex(command);
  auto tags = index->listTags();
  if (!tags.ok()) throw std::runtime_error(tags.failure().detail);
  bool table = !command.json && ::isatty(STDOUT_FILENO) == 1;
  if (command.json || table) {
    std::vector<std::array<std::string, 5>> rows;
    std::string json = "[";
    for (const auto &tag : tags.value()) {
      auto blob = index->findBlob(tag.digest);
      bool known = blob.ok() && blob.value();
      std::string ref = tag.registry + "/" + tag.repository + ":" + tag.tag;
      if (command.json) {
        json += std::string(json.size() > 1 ? "," : "") + "{\"reference\":" + jsonText(ref) +
                ",\"registry\":" + jsonText(tag.registry) +
                ",\"repository\":" + jsonText(tag.repository) + ",\"tag\":" + jsonText(tag.tag) +
                ",\"digest\":" + jsonText(tag.digest) +
                ",\"size_bytes\":" + (known ? std::to_string(blob.value()->size) : "null") +
                ",\"last_pull\":" + (known ? jsonText(isoTime(blob.value()->lastAccess)) : "null") +
                ",\"checked_at\":" + jsonText(isoTime(tag.checkedAt)) + "}";
      } else {
        rows.push_back({ref, tag.digest.substr(0, 19),
                        known ? formatBytes(blob.value()->size) : "?",
                        known ? ago(blob.value()->lastAccess) : "?", ago(tag.checkedAt)});
      }
    }
    if (command.json) {
      std::cout << json << "]\n";
      return 0;
    }
    printTable({"IMAGE", "DIGEST", "SIZE", "LAST PULL", "CHECKED"}, rows);
    return 0;
  }
  for (const auto &tag : tags.value()) {
    auto blob = index->findBlob(tag.digest);
    bool known = blob.ok() && blob.value();
    std::string size = known ? std::to_string(blob.value()->size) : "?";
    // The manifest's last use is the image's last pull; the check is the last word from upstream.
    std::string pulled =
        known ? formatUtcTime(blob.value()->lastAccess, "%Y-%m-%dT%H:%M:%SZ") : std::string("?");
    std::cout << tag.registry << "/" << tag.repository << ":" << tag.tag << "  " << tag.digest
              << "  " << size << " bytes  last pull " << pulled << "  checked "
              << formatUtcTime(tag.checkedAt, "%Y-%m-%dT%H:%M:%SZ") << "\n";
  }
  return 0;
}

int runCacheVerify(const ParsedCommand &command) {
  auto index = openIndex(command);
  // Safe beside a server either way: it reads only indexed blobs, which are complete files
  // renamed into place, and never touches tmp/. Held, the lock keeps a server from starting
  // (and sweeping) halfway through.
  auto lock = lockBesideServer(command);
  cache::FileBlobStore store(command.dataDir);
  auto digests = index->allDigests();
  if (!digests.ok()) throw std::runtime_error(digests.failure().detail);
  bool terminal = ::isatty(STDERR_FILENO) == 1;
  std::size_t corrupt = 0, checked = 0;
  std::vector<std::string> corruptDigests;
  for (const auto &text : digests.value()) {
    ++checked;
    if (terminal) {
      std::cerr << "\rverifying " << checked << "/" << digests->size() << std::flush;
    }
    auto digest = oci::parseDigest(text);
    auto reader =
        digest ? store.openReader(*digest, cache::InlineCompletions::instance())
               : Result<std::unique_ptr<cache::BlobReader>>(fail(Error::kInvalidInput, "bad"));
    std::string actual;
    if (reader.ok()) {
      Sha256 hasher;
      std::uint64_t offset = 0;
      Result<std::string> chunk = std::string();
      while ((chunk = cache::readNow(**reader, offset, kVerifyChunk)).ok() && !chunk->empty()) {
        hasher.update(chunk.value());
        offset += chunk->size();
      }
      if (chunk.ok()) actual = hasher.finishHex();
    }
    if (digest && actual == digest->hex) continue;
    ++corrupt;
    corruptDigests.push_back(text);
    if (!command.json)
      std::cout << (terminal ? "\n" : "") << "corrupt: " << text
                << (reader.ok() ? " (content does not match)" : " (file missing)") << ", removed\n";
    if (auto removed = index->removeBlob(text); !removed.ok()) {
      std::cout << "  cannot remove the row: " << removed.failure().detail << "\n";
    }
    if (digest) (void)cache::removeNow(store, *digest);
  }
  if (terminal) std::cerr << "\n";
  if (command.json) {
    std::string names;
    for (const auto &name : corruptDigests)
      names += (names.empty() ? "" : ",") + jsonText(name);
    std::cout << "{\"verified\":" << checked << ",\"corrupt\":" << corrupt << ",\"removed\":["
              << names << "]}\n";
    return corrupt == 0 ? 0 : 1;
  }
  std::cout << checked << " blob(s) verified, " << corrupt << " corrupt\n";
  return corrupt == 0 ? 0 : 1;
}

int runCacheStats(const ParsedCommand &command) {
  auto index = openIndex(command);
  auto totals = index->totals();
  if (!totals.ok()) throw std::runtime_error(totals.failure().detail);
  auto counters = index->counters();
  if (!counters.ok()) throw std::runtime_error(counters.failure().detail);
  auto counter = [&](const char *name) {
    auto found = counters->find(name);
    return found == counters->end() ? std::uint64_t{0} : found->second;
  };
  std::uint64_t hits = counter(cache::kCounterCacheHits);
  std::uint64_t misses = counter(cache::kCounterCacheMisses);
  if (command.json) {
    std::cout << "{\"entries\":" << totals->blobs << ",\"bytes_stored\":" << totals->bytes
              << ",\"hits\":" << hits << ",\"misses\":" << misses << ",\"hit_ratio\":"
              << (hits + misses == 0 ? std::string("null")
                                     : std::to_string(static_cast<double>(hits) /
                                                      static_cast<double>(hits + misses)))
              << ",\"bytes_from_cache\":" << counter(cache::kCounterBytesFromCache)
              << ",\"bytes_from_upstream\":" << counter(cache::kCounterBytesFromUpstream) << "}\n";
    return 0;
  }
  std::cout << "entries:             " << totals->blobs << "\n"
            << "bytes stored:        " << totals->bytes << " (" << formatBytes(totals->bytes)
            << ")\n"
            << "requests from cache: " << hits << " of " << hits + misses << " ("
            << hitRatio(hits, misses) << " hit ratio)\n"
            << "bytes from cache:    " << formatBytes(counter(cache::kCounterBytesFromCache))
            << "\n"
            << "bytes from upstream: " << formatBytes(counter(cache::kCounterBytesFromUpstream))
            << "\n";
  return 0;
}

namespace {

// What `cache rm` was given: a digest, a repository, or an image (repository:tag).
struct PurgeTarget {
  std::string registry, repository;
  std::optional<std::string> tag;
  std::optional<oci::Digest> digest;
};

PurgeTarget parsePurgeTarget(const std::string &ref) {
  PurgeTarget target;
  if ((target.digest = oci::parseDigest(ref))) return target;
  auto slash = ref.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == ref.size()) {
    throw std::runtime_error("expected sha256:<hex>, REGISTRY/REPOSITORY or "
                             "REGISTRY/REPOSITORY:TAG, got '" +
                             ref + "'");
  }
  target.registry = ref.substr(0, slash);
  target.repository = ref.substr(slash + 1);
  auto colon = target.repository.rfind(':');
  if (colon != std::string::npos && target.repository.find('/', colon) == std::string::npos) {
    target.tag = target.repository.substr(colon + 1);
    target.repository.resize(colon);
  }
  return target;
}

// The manifests a tag points at and everything they reference, through image indexes.
std::vector<std::string> imageDigests(cache::Index &index, cache::BlobStore &store,
                                      const PurgeTarget &target) {
  auto tags = index.listTags();
  if (!tags.ok()) throw std::runtime_error(tags.failure().detail);
  std::vector<std::string> pending, all;
  for (const auto &tag : tags.value()) {
    if (tag.registry == target.registry && tag.repository == target.repository &&
        tag.tag == *target.tag) {
      pending.push_back(tag.digest);
    }
  }
  while (!pending.empty()) {
    std::string digest = pending.back();
    pending.pop_back();
    if (std::find(all.begin(), all.end(), digest) != all.end()) continue;
    all.push_back(digest);
    auto record = index.findBlob(digest);
    auto parsed = oci::parseDigest(digest);
    if (!record.ok() || !record.value() || !record.value()->manifest || !parsed) continue;
    auto json = cache::readAllNow(store, *parsed, record.value()->size);
    if (!json.ok() || json->size() != record.value()->size) continue;
    for (auto &child : oci::referencedDigests(json.value()))
      pending.push_back(std::move(child));
  }
  return all;
}

} // namespace

int runCacheRemove(const ParsedCommand &command) {
  PurgeTarget target = parsePurgeTarget(command.cacheRef);
  auto index = openIndex(command);
  cache::FileBlobStore store(command.dataDir);
  std::vector<std::string> removed;
  std::size_t tags = 0;
  if (target.digest) {
    auto found = index->findBlob(target.digest->toString());
    if (found.ok() && found.value()) {
      if (auto r = index->removeBlob(target.digest->toString()); !r.ok()) {
        throw std::runtime_error(r.failure().detail);
      }
      removed.push_back(target.digest->toString());
    }
  } else {
    std::vector<std::string> only;
    if (target.tag) only = imageDigests(*index, store, target);
    auto dropped = index->removeTags(target.registry, target.repository, target.tag);
    if (!dropped.ok()) throw std::runtime_error(dropped.failure().detail);
    tags = dropped.value();
    auto forgotten =
        index->forgetRepository(target.registry, target.repository, target.tag ? &only : nullptr);
    if (!forgotten.ok()) throw std::runtime_error(forgotten.failure().detail);
    removed = std::move(forgotten.value());
  }
  for (const auto &digest : removed) {
    if (auto parsed = oci::parseDigest(digest)) (void)cache::removeNow(store, *parsed);
  }
  auto dangling = index->removeDanglingTags();
  tags += dangling.ok() ? dangling.value() : 0;
  std::cout << "removed " << removed.size() << " blob(s) and " << tags << " tag(s)\n";
  if (removed.empty() && tags == 0) {
    std::cerr << "nothing cached matches " << command.cacheRef << "\n";
    return 1;
  }
  return 0;
}

int runCacheGc(const ParsedCommand &command) {
  auto index = openIndex(command);
  auto lock = lockBesideServer(command);
  cache::FileBlobStore store(command.dataDir);
  // Without a server, tmp/ holds only what a crash left; with one, its live fills.
  std::size_t leftovers = 0;
  if (lock) {
    auto swept = cache::removeLeftoversNow(store);
    leftovers = swept.ok() ? swept.value() : 0;
  }
  std::size_t aged = 0;
  if (command.gcOlderThan.count() > 0) {
    auto cutoff = std::chrono::system_clock::now() - command.gcOlderThan;
    auto blobs = index->leastRecentlyUsed(std::numeric_limits<std::size_t>::max() / 2);
    if (!blobs.ok()) throw std::runtime_error(blobs.failure().detail);
    for (const auto &blob : blobs.value()) {
      if (blob.lastAccess >= cutoff) break;
      if (!index->removeBlob(blob.digest).ok()) continue;
      if (auto parsed = oci::parseDigest(blob.digest)) (void)cache::removeNow(store, *parsed);
      ++aged;
    }
  }
  // A running server's fill has a file for a moment before its row: leave young files alone.
  auto grace = lock ? std::chrono::seconds(0) : std::chrono::seconds(std::chrono::hours(1));
  auto report = cache::reconcile(*index, store, grace);
  std::cout << "removed " << aged << " blob(s) unused for longer than the limit, " << leftovers
            << " unfinished fill(s) from tmp/, " << report.orphanFiles << " file(s) without a row, "
            << report.missingFiles << " row(s) without a file, " << report.danglingTags
            << " tag(s) without a manifest\n";
  return 0;
}

} // namespace regcache::app
