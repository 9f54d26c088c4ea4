#pragma once
// TLS contexts for both sides of the proxy. Each is built once at start-up and shared by every
// worker thread (SSL_CTX is safe to share once configured).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <event2/bufferevent.h>

#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::proxy::net {

// The upstream client side: always verifying, with the system roots plus extraCaFiles (PEM).
// Throws std::runtime_error if a file cannot be loaded (start-up only).
SslCtxPtr makeUpstreamContext(const std::vector<std::filesystem::path> &extraCaFiles);

// A new client-side SSL for `host` (a name or an IP literal): SNI for names, and a hostname or IP
// check on the peer certificate.
Result<SslPtr> newUpstreamSsl(SSL_CTX *context, const std::string &host);

// The OpenSSL errors a TLS bufferevent recorded, as one line, or whenEmpty.
std::string bufferEventTlsErrors(bufferevent *bev, const char *whenEmpty = "");

} // namespace regcache::proxy::net
