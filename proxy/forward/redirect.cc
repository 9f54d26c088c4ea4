#include "proxy/forward/redirect.h"

#include "proxy/http/target.h"

namespace regcache::proxy {

Result<RedirectHop> redirectHop(const net::Endpoint &from, std::string_view location) {
  if (!location.empty() && location.front() == '/') {
    return RedirectHop{from, std::string(location), false};
  }
  auto url = http::parseAbsoluteUrl(location);
  if (!url.ok() || (url->scheme != "http" && url->scheme != "https")) {
    return Failure{Error::kUpstream, "upstream redirected to an unusable location"};
  }
  bool downgrade = from.tls && url->scheme != "https";
  bool elsewhere = url->authority.host != from.host || url->authority.port != from.port;
  return RedirectHop{
      net::Endpoint{url->authority.host, url->authority.port, url->scheme == "https"},
      url->pathAndQuery, downgrade || elsewhere};
}

} // namespace regcache::proxy
