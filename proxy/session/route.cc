#include "proxy/session/route.h"

#include <optional>

namespace regcache::proxy {
namespace {

Route badRequest(std::string error) {
  Route route;
  route.kind = RouteKind::kBadRequest;
  route.error = std::move(error);
  return route;
}

// How many Host fields the request carries, and the first.
std::size_t hostFields(const http::Headers &headers, std::string_view &first) {
  std::size_t count = 0;
  for (const auto &[name, value] : headers.entries()) {
    if (!http::equalsIgnoreCase(name, "Host")) continue;
    if (count++ == 0) first = value;
  }
  return count;
}

// The proxy sends Host from the target it connects to (RFC 9112 3.2.2), so a client's Host never
// reaches upstream. One that names another host than the absolute-form URI is a client trying to
// reach one site under another's name: refused, so the mismatch shows at the client instead of
// being silently rewritten. A Host without a port agrees with any port of the same host.
std::optional<std::string> hostDisagreement(const http::Headers &headers,
                                            const http::HostPort &target) {
  std::string_view value;
  std::size_t count = hostFields(headers, value);
  if (count == 0) return std::nullopt;
  if (count > 1) return "more than one Host field";
  auto host = http::parseHostField(value);
  if (!host.ok()) return "bad Host field: " + host.failure().detail;
  if (host->host != target.host || (host->port != 0 && host->port != target.port)) {
    return "Host " + std::string(value) + " does not match the request target " +
           http::formatAuthority(target);
  }
  return std::nullopt;
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
    // Inside the tunnel every request goes to the CONNECT target, whatever Host says; the Host
    // sent upstream is the CONNECT target's too.
    std::string_view host;
    if (hostFields(head.headers, host) > 1) return badRequest("more than one Host field");
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
    std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
    bool registryApi = path == "/v2" || path.rfind("/v2/", 0) == 0;
    route.kind = registryApi && path != "/v2/_catalog" ? RouteKind::kMirror : RouteKind::kAdmin;
    return route;
  }
  auto url = http::parseAbsoluteUrl(head.target);
  if (!url.ok() || (url->scheme != "http" && url->scheme != "https")) {
    return badRequest("bad request target (expected origin-form or an http:// URL)");
  }
  if (auto disagreement = hostDisagreement(head.headers, url->authority)) {
    return badRequest(*disagreement);
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
