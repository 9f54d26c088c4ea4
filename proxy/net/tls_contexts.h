#pragma once
// TLS contexts for both sides of the proxy. Each is built once at start-up and shared by every
// worker thread (SSL_CTX is safe to share once configured).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::proxy::net {

// The upstream client side: always verifying, with the system roots plus extraCaFiles (PEM).
// Throws std::runtime_error if a file cannot be loaded (start-up only).
SslCtxPtr makeUpstreamContext(const std::vector<std::filesystem::path> &extraCaFiles);

// A new client-side SSL for `host` (a name or an IP literal): SNI for names, and a hostname or IP
// check on the peer certificate.
Result<SslPtr> newUpstreamSsl(SSL_CTX *context, const std::string &host);

// Empties OpenSSL's thread-local error queue into one line ("" when empty).
std::string drainSslErrors();

} // namespace regcache::proxy::net
