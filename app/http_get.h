#pragma once
// One blocking HTTP GET for cache warm: on a connection of its own (Connection: close), over
// TLS for https, and through a forward proxy's CONNECT tunnel when one is given.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "base/result.h"
#include "proxy/http/headers.h"
#include "proxy/http/target.h"

namespace regcache::app {

struct HttpGetSettings {
  std::optional<proxy::http::HostPort> proxy; // none: connect to the server directly
  std::string proxyAuthorization;             // "Basic ..." for the proxy's CONNECT; may be empty
  std::filesystem::path caFile;               // extra roots (the proxy's bundle); may be empty
  std::chrono::seconds timeout{30};           // per connect, read and write
};

struct HttpGetResponse {
  int status = 0;
  proxy::http::Headers headers;
  std::string body;            // the first `keepBody` bytes of the body
  std::uint64_t bodyBytes = 0; // every body byte received
};

// GETs `url` (http:// or https://) with `headers` added to Host, User-Agent and Connection.
// Keeps at most `keepBody` bytes of the body and fails with kTooLarge past `maxBody`; the rest
// is read and dropped. `onBytes` (may be empty) is told of each body chunk's size as it comes.
// Fails on connect, TLS, timeout, a malformed or truncated answer.
Result<HttpGetResponse> httpGet(const HttpGetSettings &settings,
                                const proxy::http::AbsoluteUrl &url,
                                const proxy::http::Headers &headers, std::size_t keepBody,
                                std::uint64_t maxBody,
                                const std::function<void(std::uint64_t)> &onBytes = {});

} // namespace regcache::app
