#pragma once
// The media type each cached manifest's own JSON names, remembered by digest for one worker's
// hits. The bytes under a digest never change (a committed blob is verified), so the JSON is
// read and scanned once, not on every hit: that scan was 13 % of workload 2's instructions
// (callgrind), with the extra reader, pread and copy around it. Not thread-safe: each worker
// thread keeps its own (see cache_decision.cc), so a hit takes no lock for it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/lru.h"
#include "base/result.h"

namespace regcache::proxy {

class ManifestTypes {
public:
  // At most `capacity` digests remembered, the least recently used forgotten first.
  explicit ManifestTypes(std::size_t capacity) : types_(capacity) {}

  // The media type the manifest `digest` names (nullopt: its JSON names none, or is not a
  // manifest). `read` gives the manifest's JSON as Result<std::string>, and runs only when this
  // digest is not remembered; `scan` turns that JSON into the type. A failed read is not
  // remembered (the next hit reads again), nor a short one (`size` bytes are expected).
  template <class Read, class Scan>
  std::optional<std::string> typeOf(const std::string &digest, std::uint64_t size, Read read,
                                    Scan scan) {
    if (auto known = types_.get(digest)) return *known;
    Result<std::string> json = read();
    if (!json.ok() || json->size() != size) return std::nullopt;
    std::optional<std::string> type = scan(json.value());
    types_.put(digest, type);
    return type;
  }

  std::size_t size() const { return types_.size(); }

private:
  LruCache<std::string, std::optional<std::string>> types_;
};

} // namespace regcache::proxy
