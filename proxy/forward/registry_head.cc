#include "proxy/forward/registry_head.h"

#include "proxy/handler_services.h"

namespace regcache::proxy {

bool isRegistryEndpoint(const http::AbsoluteUrl &url, const net::Endpoint &registry) {
  return url.authority.host == registry.host && url.authority.port == registry.port &&
         (url.scheme == "https") == registry.tls;
}

void startRegistryHead(HandlerServices &services, std::unique_ptr<OneShotRequest> &request,
                       http::AbsoluteUrl url, const net::Endpoint &registry,
                       const std::string &authorization, http::Headers headers,
                       OneShotRequest::Callback done) {
  bool atRegistry = isRegistryEndpoint(url, registry);
  if (atRegistry && !authorization.empty()) headers.add("Authorization", authorization);
  if (request) services.deleteLater(std::move(request));
  std::string host = url.authority.host;
  request = std::make_unique<OneShotRequest>(
      services.base(), services.resolver(), services.upstreamConnectSettings(host),
      services.options().connectTimeout, "HEAD", std::move(url), std::move(headers),
      atRegistry ? "registry" : "storage", std::move(done));
  request->start();
}

} // namespace regcache::proxy
