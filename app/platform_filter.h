#pragma once
// --platform os/arch[/variant]: which entries of an image index to warm.
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace regcache::app {

struct Platform {
  std::string os;           // "linux"
  std::string architecture; // "arm64"
  std::string variant;      // "v8"; empty: any
  std::string toString() const;
};

// "linux/arm64" or "linux/arm/v7". Fails with kInvalidInput on fewer than two or more than three
// non-empty parts.
Result<Platform> parsePlatform(std::string_view text);

// True when an index entry for `entry` is wanted: `wanted` is empty (every platform), or one of
// them has the same os and architecture and either names no variant or the entry's variant.
bool platformWanted(const std::vector<Platform> &wanted, const Platform &entry);

} // namespace regcache::app
