#pragma once
// Redirect following, decided apart from any socket: where upstream's Location leads, and
// whether the request's Authorization may go there. Credentials are for the registry, never for
// wherever it points (a CDN's presigned URL), nor for the same host and port in the clear.
#include <string>
#include <string_view>

#include "base/result.h"
#include "proxy/net/connector.h"

namespace regcache::proxy {

struct RedirectHop {
  net::Endpoint endpoint;
  std::string originTarget;       // path and query to send there
  bool dropAuthorization = false; // another host or port, or TLS given up
};

// The next hop from `from` for a redirect to `location`: a path on the same endpoint, or an
// absolute http(s) URL. kUpstream for anything else.
Result<RedirectHop> redirectHop(const net::Endpoint &from, std::string_view location);

} // namespace regcache::proxy
