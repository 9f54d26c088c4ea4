#pragma once
// Bounds on what a peer may send in a message head. Exceeding one fails that message alone.
#include <cstddef>

namespace regcache::proxy::http {

struct Limits {
  std::size_t maxRequestLine = 8192;      // method + target + version (414 beyond)
  std::size_t maxHeaderBytes = 64 * 1024; // every header line together (431 beyond)
  std::size_t maxHeaderCount = 100;       // 431 beyond
  // Interim (1xx) heads before a response's final one. Each is relayed to the client, so an
  // upstream streaming "100 Continue" forever would otherwise grow the proxy without end.
  std::size_t maxInterimResponses = 10;
};

} // namespace regcache::proxy::http
