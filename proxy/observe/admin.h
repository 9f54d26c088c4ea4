#pragma once
// The proxy's own endpoints, reached with origin-form requests on the proxy port:
//   GET /ca.crt   the PEM bundle of roots clients must trust (ETag, If-None-Match -> 304)
//   GET /healthz  liveness
//   GET /v2/_catalog  the cached repositories, as "registry/name"
//   GET /metrics  Prometheus counters (requests by route and cache outcome, bytes, fills, errors)
//   GET /  GET /status.json  the status page and its data (proxy/status_report.h)
// /ca.crt and /healthz answer every allowed client: a VM fetches the CA before it is set up.
// Everything else answers only admins (--admin-allow, or a proxy user marked admin), and 403
// anyone else: they name registries, repositories and users. With --public-catalog the catalog
// also answers others, listing only repositories with content served without credentials.
#include <chrono>
#include <string>

#include "proxy/http/message.h"
#include "proxy/observe/access_log.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class AdminEndpoint final : public RequestHandler {
public:
  // `admin`: the client may read the admin-only endpoints.
  AdminEndpoint(ClientSide &client, http::RequestHead request, bool admin);
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}

private:
  // Every cached repository for an admin; otherwise only those with public content.
  std::string catalogJson();
  // Prometheus text: the process counters plus the size of the cache.
  std::string metricsText();
  void respond(int status, std::string_view contentType, const std::string &body,
               http::Headers extra = {});

  ClientSide &client_;
  http::RequestHead request_;
  bool admin_;
  AccessRecord record_;
};

// Whether an origin-form target is one of the endpoints every allowed client may read
// (/ca.crt, /healthz), whatever its query.
bool isOpenAdminPath(std::string_view target);

// An IMF-fixdate for Last-Modified: "Sun, 22 Nov 2026 13:40:00 GMT".
std::string httpDate(std::chrono::system_clock::time_point time);

// A strong ETag for content: the quoted hex SHA-256 of it.
std::string strongEtag(std::string_view content);

} // namespace regcache::proxy
