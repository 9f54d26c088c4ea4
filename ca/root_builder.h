#pragma once
// Root certificates and the cross-certificates that carry trust from one root to the next.
#include <chrono>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::ca {

struct RootSpec {
  std::string commonName; // distinct per generation, so chains never confuse roots
  std::chrono::hours validity{24 * 3650};
  std::vector<std::string> permittedDns; // X.509 nameConstraints; empty: unconstrained
};

// A self-signed root for `key`: CA:TRUE (no path length limit, so a cross-certificate can sit
// between an older root and leaves), keyCertSign and cRLSign, a random positive serial.
Result<X509Ptr> buildRoot(EVP_PKEY *key, const RootSpec &spec, const Clock &clock);

// A certificate with `newRoot`'s subject, key and constraints, issued and signed by `oldRoot`:
// a client that trusts only the old root can then verify leaves the new root signs.
Result<X509Ptr> buildCrossCertificate(X509 *newRoot, X509 *oldRoot, EVP_PKEY *oldKey,
                                      const Clock &clock);

} // namespace regcache::ca
