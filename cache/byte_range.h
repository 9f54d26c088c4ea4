#pragma once
// The Range header for a stored blob of known size: one range, open-ended or suffix included.
// Several ranges are answered with the whole blob (200), which RFC 9110 allows.
#include <cstdint>
#include <optional>
#include <string_view>

namespace regcache::cache {

struct ByteRange {
  enum class Kind { kWhole, kPartial, kUnsatisfiable };
  Kind kind = Kind::kWhole;
  std::uint64_t first = 0; // kPartial: inclusive bounds
  std::uint64_t last = 0;
  std::uint64_t length() const { return last - first + 1; }
};

// `header` is the Range value, or nullopt when absent. A malformed value is ignored (kWhole).
ByteRange resolveRange(std::optional<std::string_view> header, std::uint64_t size);

} // namespace regcache::cache
