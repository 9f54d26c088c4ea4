#pragma once
// Trusting a fetched bundle: `ca install --fingerprint` names the roots the operator read from
// `regcache ca show` (or `ca init`, or `client-config`) on the proxy host. Only CA certificates
// with a pinned SHA-256 are installed; a bundle holding none of them is refused. A root nobody
// pinned is skipped rather than trusted, so whoever answered the fetch cannot append one.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace regcache::app {

// A SHA-256 fingerprint in the form `regcache ca show` prints ("AB:CD:..."; upper case, colon
// separated), from 64 hex digits in either case, with or without colons. nullopt otherwise.
std::optional<std::string> normalizeFingerprint(std::string_view text);

struct PinnedBundle {
  std::string pem;                  // the pinned roots only, in the bundle's order
  std::vector<std::string> kept;    // their fingerprints
  std::vector<std::string> skipped; // fingerprints of the certificates left out
};

// Keeps from the PEM `bundle` the CA certificates (basicConstraints CA:TRUE) whose fingerprint is
// in `pins` (normalized). kPolicy naming the pins when none is there; kInvalidInput when the
// bundle holds no parsable certificate.
Result<PinnedBundle> keepPinnedRoots(const std::string &bundle,
                                     const std::vector<std::string> &pins);

// The fingerprints of the CA certificates in a PEM bundle, in order.
std::vector<std::string> rootFingerprints(const std::string &bundle);

} // namespace regcache::app
