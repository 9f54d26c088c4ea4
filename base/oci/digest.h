#pragma once
// Content digests as registries write them ("sha256:<64 hex>"). Hashing is base/sha256.h.
#include <optional>
#include <string>
#include <string_view>

namespace regcache::oci {

struct Digest {
  std::string algorithm; // "sha256"
  std::string hex;       // lowercase
  std::string toString() const { return algorithm + ":" + hex; }
  bool operator==(const Digest &) const = default;
};

// Accepts only what the cache can verify: "sha256:" followed by 64 lowercase hex digits.
// Anything else (sha512, uppercase, short) is nullopt and passes through uncached.
std::optional<Digest> parseDigest(std::string_view text);

} // namespace regcache::oci
