#pragma once
// Leaf certificates for intercepted hosts, in the shape Go verifiers accept: a SAN (DNS or IP),
// EKU serverAuth, a random positive serial, notBefore slightly in the past, a short validity.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::ca {

class Authority;

struct MintOptions {
  std::chrono::hours validity{24 * 7};
  std::chrono::minutes backdate{60}; // tolerate clients whose clocks run behind
};

struct Leaf {
  X509Ptr cert;
  EvpPkeyPtr key;
  std::vector<X509Ptr> chain; // sent after the leaf, from Authority::chainCerts()
  Clock::TimePoint notBefore;
  Clock::TimePoint notAfter;
};

// Lowercase, no trailing dot, IPv6 without brackets; empty if `host` is neither a valid DNS name
// nor an IP literal.
std::string normalizeHost(std::string_view host);

// Mints a leaf for `host` (a DNS name or an IP literal) signed by the authority's signing root.
// kInvalidInput for a host that is neither.
Result<Leaf> mintLeaf(const Authority &authority, std::string_view host, const Clock &clock,
                      const MintOptions &options = {});

} // namespace regcache::ca
