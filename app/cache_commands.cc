#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "app/commands.h"
#include "base/time_format.h"
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

int runCacheStats(const ParsedCommand &command) {
  auto index = openIndex(command);
  auto totals = index->totals();
  if (!totals.ok()) throw std::runtime_error(totals.failure().detail);
  std::cout << "entries: " << totals->blobs << "\nbytes:   " << totals->bytes
            << "\nhits:    " << totals->hits << "\n";
  return 0;
}

} // namespace regcache::app
