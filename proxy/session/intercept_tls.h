#pragma once
// The intercepting TLS server side: one SSL_CTX for every intercepted host, with the leaf chosen
// per handshake from the CA's leaf cache.
#include <string>

#include "base/openssl_handles.h"
#include "base/result.h"

namespace regcache::ca {
class LeafCache;
class MintLimiter;
} // namespace regcache::ca

namespace regcache::proxy {

// The intercepting server side: TLS 1.2 and 1.3, ALPN limited to http/1.1 (Go clients then never
// try h2), session tickets and a session cache for resumption. It holds no certificate: each
// handshake picks a leaf from `leaves` in the servername callback. A leaf that must be minted
// first is minted only if `mints` (null: no limit) grants the client one; otherwise the
// handshake fails with an unrecognized_name alert and a log line. `leaves` and `mints` must
// outlive it. Throws std::runtime_error on failure (start-up only).
SslCtxPtr makeInterceptContext(ca::LeafCache &leaves, ca::MintLimiter *mints = nullptr);

// A new server-side SSL for a client (at `clientAddress`, the key of its mint limit, and
// logged with `logPrefix`) that sent CONNECT to `connectHost`. The leaf is named by the client's
// SNI, or else by connectHost (an IP literal gets an IP SAN).
Result<SslPtr> newInterceptSsl(SSL_CTX *context, std::string connectHost,
                               std::string clientAddress = {}, std::string logPrefix = {});

} // namespace regcache::proxy
