#pragma once
// Small OpenSSL helpers shared by the root and leaf builders.
#include <string>

#include "base/clock.h"
#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::ca {

// A fresh ECDSA P-256 key.
Result<EvpPkeyPtr> generateP256Key();
// Sets a random positive serial of 127 bits (Go rejects negative serials).
Result<void> setRandomSerial(X509 *cert);
// Sets notBefore/notAfter from wall-clock times.
void setValidity(X509 *cert, Clock::TimePoint notBefore, Clock::TimePoint notAfter);
// Adds an extension given in OpenSSL's config syntax ("critical,CA:TRUE"), with issuer/subject
// context for key identifiers.
Result<void> addExtension(X509 *cert, X509 *issuer, int nid, const std::string &value);
// Every error on OpenSSL's queue, as one line; the queue is left empty.
std::string opensslErrors();
// Converts an ASN1_TIME to a wall-clock time.
Clock::TimePoint toTimePoint(const ASN1_TIME *time);

} // namespace regcache::ca
