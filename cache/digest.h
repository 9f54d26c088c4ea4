#pragma once
// Content digests as registries write them ("sha256:<64 hex>"), and incremental SHA-256.
#include <optional>
#include <string>
#include <string_view>

#include "base/openssl_handles.h"

namespace regcache::cache {

struct Digest {
  std::string algorithm; // "sha256"
  std::string hex;       // lowercase
  std::string toString() const { return algorithm + ":" + hex; }
  bool operator==(const Digest &) const = default;
};

// Accepts only what the cache can verify: "sha256:" followed by 64 lowercase hex digits.
// Anything else (sha512, uppercase, short) is nullopt and passes through uncached.
std::optional<Digest> parseDigest(std::string_view text);

class Sha256 {
public:
  Sha256();
  void update(std::string_view data);
  // The lowercase hex digest of everything given so far; the hasher is spent afterwards.
  std::string finishHex();

private:
  EvpMdCtxPtr ctx_;
};

std::string sha256Hex(std::string_view data);

} // namespace regcache::cache
