#pragma once
// A response the proxy gives itself without asking anyone: a refusal by policy (405 for a write
// in --read-only mode, 407 without proxy credentials, 403 for a refused target). The connection
// is closed afterwards, so a request body that follows is never read, unless `keepAlive` is
// asked for a request without a body (the mirror's /v2/ ping).
#include <string>

#include "proxy/http/message.h"
#include "proxy/observe/access_log.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class FixedResponse final : public RequestHandler {
public:
  FixedResponse(ClientSide &client, const http::RequestHead &request, std::string host, int status,
                http::Headers headers, std::string body, std::string note, bool keepAlive = false);
  void start() override;
  void onRequestBody(std::string_view) override {}
  void onRequestEnd() override {}

private:
  ClientSide &client_;
  int status_;
  http::Headers headers_;
  std::string body_;
  bool head_;
  bool keepAlive_;
  AccessRecord record_;
};

// The OCI distribution error body: {"errors":[{"code":...,"message":...,"detail":null}]}.
std::string ociErrorJson(const std::string &code, const std::string &message);

} // namespace regcache::proxy
