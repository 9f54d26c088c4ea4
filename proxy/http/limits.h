#pragma once
// Bounds on what a peer may send in a message head. Exceeding one fails that message alone.
#include <cstddef>

namespace regcache::proxy::http {

struct Limits {
  std::size_t maxRequestLine = 8192;      // method + target + version (414 beyond)
  std::size_t maxHeaderBytes = 64 * 1024; // every header line together (431 beyond)
  std::size_t maxHeaderCount = 100;       // 431 beyond
};

} // namespace regcache::proxy::http
