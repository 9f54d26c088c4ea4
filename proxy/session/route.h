#pragma once
// Where a request goes, decided from its head alone: a pure function, so the rules are unit
// tested apart from any socket. The registry cache (next issue) adds its routes here.
#include <optional>
#include <string>

#include "proxy/http/message.h"
#include "proxy/http/target.h"

namespace regcache::proxy {

enum class RouteKind {
  kConnect,    // CONNECT host:port on the plain listener
  kForward,    // to an upstream, over TLS or plain HTTP
  kAdmin,      // origin-form on the plain listener: the proxy's own endpoints
  kMirror,     // origin-form /v2... (not /v2/_catalog): the mirror endpoint (proxy/mirror_route.h)
  kBadRequest, // answer 400 with `error`
};

struct Route {
  RouteKind kind = RouteKind::kBadRequest;
  bool tls = false;         // kForward: TLS to the upstream
  http::HostPort upstream;  // kForward, kConnect
  std::string originTarget; // kForward: path and query sent upstream
  std::string error;        // kBadRequest; kMirror: why proxy credentials failed (a 401)
  // kForward: a mirror request (origin-form, upstream from ?ns=), routed by routeMirror. Its
  // upstream auth is the proxy's own: anonymous, or the operator's account.
  bool mirror = false;
};

// `intercepted` is the CONNECT target when the request arrived inside an intercepted TLS
// connection, empty on the plain listener.
Route routeRequest(const http::RequestHead &head, const std::optional<http::HostPort> &intercepted);

// A push or delete of the registry API (POST, PUT, PATCH, DELETE under /v2/): what --read-only
// refuses.
bool isRegistryWrite(const http::RequestHead &head, const Route &route);

} // namespace regcache::proxy
