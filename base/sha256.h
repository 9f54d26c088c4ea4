#pragma once
// Incremental SHA-256 in lowercase hex: blob digests, and the hashes of passwords, tokens and
// credentials (proxy users, the access memo), which is why it lives in base/ and not in cache/.
#include <string>
#include <string_view>

#include "base/openssl_handles.h"

namespace regcache {

class Sha256 {
public:
  Sha256();
  void update(std::string_view data);
  // The lowercase hex digest of everything given so far; the hasher is spent afterwards.
  std::string finishHex();

private:
  EvpMdCtxPtr ctx_;
};

// The lowercase hex SHA-256 of `data`, in one call.
std::string sha256Hex(std::string_view data);

} // namespace regcache
