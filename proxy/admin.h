#pragma once
// The proxy's own endpoints, reached with origin-form requests on the proxy port:
//   GET /ca.crt   the PEM bundle of roots clients must trust (ETag, If-None-Match -> 304)
//   GET /healthz  liveness
//   GET /v2/_catalog  the cached repositories, as "registry/name"
//   GET /metrics  Prometheus counters (requests by route and cache outcome, bytes, fills, errors)
#include <chrono>
#include <string>

#include "proxy/access_log.h"
#include "proxy/http/message.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class AdminEndpoint final : public RequestHandler {
public:
  AdminEndpoint(ClientSide &client, http::RequestHead request);
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}

private:
  std::string catalogJson();
  // Prometheus text: the process counters plus the size of the cache.
  std::string metricsText();
  void respond(int status, std::string_view contentType, const std::string &body,
               http::Headers extra = {});

  ClientSide &client_;
  http::RequestHead request_;
  AccessRecord record_;
};

// An IMF-fixdate for Last-Modified: "Sun, 22 Nov 2026 13:40:00 GMT".
std::string httpDate(std::chrono::system_clock::time_point time);

// A strong ETag for content: the quoted hex SHA-256 of it.
std::string strongEtag(std::string_view content);

} // namespace regcache::proxy
