#include "proxy/route.h"

namespace regcache::proxy {
namespace {

Route badRequest(std::string error) {
  Route route;
  route.kind = RouteKind::kBadRequest;
  route.error = std::move(error);
  return route;
}

} // namespace

Route routeRequest(const http::RequestHead &head,
                   const std::optional<http::HostPort> &intercepted) {
  Route route;
  if (head.method == "CONNECT") {
    if (intercepted) return badRequest("CONNECT inside an intercepted connection");
    auto target = http::parseConnectTarget(head.target);
    if (!target.ok()) return badRequest("bad CONNECT target: " + target.failure().detail);
    route.kind = RouteKind::kConnect;
    route.upstream = target.value();
    return route;
  }
  bool originForm = !head.target.empty() && head.target.front() == '/';
  if (intercepted) {
    // Inside the tunnel every request goes to the CONNECT target, whatever Host says.
    route.kind = RouteKind::kForward;
    route.tls = true;
    route.upstream = *intercepted;
    if (originForm) {
      route.originTarget = head.target;
      return route;
    }
    auto url = http::parseAbsoluteUrl(head.target);
    if (!url.ok()) return badRequest("bad request target");
    route.originTarget = url->pathAndQuery;
    return route;
  }
  if (originForm) {
    route.kind = RouteKind::kAdmin;
    return route;
  }
  auto url = http::parseAbsoluteUrl(head.target);
  if (!url.ok() || (url->scheme != "http" && url->scheme != "https")) {
    return badRequest("bad request target (expected origin-form or an http:// URL)");
  }
  route.kind = RouteKind::kForward;
  route.tls = url->scheme == "https";
  route.upstream = url->authority;
  route.originTarget = url->pathAndQuery;
  return route;
}

bool isRegistryWrite(const http::RequestHead &head, const Route &route) {
  if (route.kind != RouteKind::kForward) return false;
  bool write = head.method == "POST" || head.method == "PUT" || head.method == "PATCH" ||
               head.method == "DELETE";
  return write && route.originTarget.rfind("/v2/", 0) == 0;
}

} // namespace regcache::proxy
