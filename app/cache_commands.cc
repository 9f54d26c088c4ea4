#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "app/commands.h"
#include "base/time_format.h"
#include "base/unique_fd.h"
#include "cache/digest.h"
#include "cache/file_blob_store.h"
#include "cache/index.h"

namespace regcache::app {
namespace {

std::unique_ptr<cache::Index> openIndex(const ParsedCommand &command) {
  auto path = command.dataDir / "cache.db";
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("no cache in " + command.dataDir.string());
  }
  auto index = cache::Index::open(path);
  if (!index.ok()) throw std::runtime_error(index.failure().detail);
  return std::move(index.value());
}

std::string formatBytes(std::uint64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string hitRatio(std::uint64_t hits, std::uint64_t misses) {
  if (hits + misses == 0) return "-";
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%",
                100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
  return text;
}

} // namespace

int runCacheList(const ParsedCommand &command) {
  auto index = openIndex(command);
  auto tags = index->listTags();
  if (!tags.ok()) throw std::runtime_error(tags.failure().detail);
  for (const auto &tag : tags.value()) {
    auto blob = index->findBlob(tag.digest);
    std::string size = blob.ok() && blob.value() ? std::to_string(blob.value()->size) : "?";
    std::cout << tag.registry << "/" << tag.repository << ":" << tag.tag << "  " << tag.digest
              << "  " << size << " bytes  checked "
              << formatUtcTime(tag.checkedAt, "%Y-%m-%dT%H:%M:%SZ") << "\n";
  }
  return 0;
}

int runCacheVerify(const ParsedCommand &command) {
  auto index = openIndex(command);
  cache::FileBlobStore store(command.dataDir);
  auto digests = index->allDigests();
  if (!digests.ok()) throw std::runtime_error(digests.failure().detail);
  bool terminal = ::isatty(STDERR_FILENO) == 1;
  std::size_t corrupt = 0, checked = 0;
  std::vector<char> buffer(1 << 20);
  for (const auto &text : digests.value()) {
    ++checked;
    if (terminal) {
      std::cerr << "\rverifying " << checked << "/" << digests->size() << std::flush;
    }
    auto digest = cache::parseDigest(text);
    auto fd = digest ? store.openForRead(*digest) : Result<int>(fail(Error::kInvalidInput, "bad"));
    std::string actual;
    if (fd.ok()) {
      UniqueFd file(fd.value());
      cache::Sha256 hasher;
      ssize_t n;
      while ((n = ::read(file.get(), buffer.data(), buffer.size())) > 0) {
        hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      }
      if (n == 0) actual = hasher.finishHex();
    }
    if (digest && actual == digest->hex) continue;
    ++corrupt;
    std::cout << (terminal ? "\n" : "") << "corrupt: " << text
              << (fd.ok() ? " (content does not match)" : " (file missing)") << ", removed\n";
    if (auto removed = index->removeBlob(text); !removed.ok()) {
      std::cout << "  cannot remove the row: " << removed.failure().detail << "\n";
    }
    if (digest) (void)store.remove(*digest);
  }
  if (terminal) std::cerr << "\n";
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

} // namespace regcache::app
