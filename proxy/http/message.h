#pragma once
// Message heads and their wire form. Bodies never live here: they stream through the parser's
// callbacks and are framed by the sender with chunkHeader()/kLastChunk or a Content-Length.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/headers.h"

namespace regcache::proxy::http {

struct RequestHead {
  std::string method; // "GET"
  std::string target; // as sent: "/v2/", "http://h/p", "host:443"
  int versionMajor = 1;
  int versionMinor = 1;
  Headers headers;
  bool keepAlive = true; // the client allows another request on this connection
  bool chunked = false;  // Transfer-Encoding: chunked
  std::optional<std::uint64_t> contentLength;
  bool expectContinue = false; // Expect: 100-continue
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int versionMajor = 1;
  int versionMinor = 1;
  Headers headers;
  bool keepAlive = true; // the server allows another request on this connection
  bool chunked = false;
  std::optional<std::uint64_t> contentLength;
};

// The head with CRLFs and the blank line; the target is written as given.
std::string serializeRequestHead(const RequestHead &head);
std::string serializeResponseHead(const ResponseHead &head);

// Chunked framing: chunkHeader(n) + n bytes + kChunkTrailer, and kLastChunk at the end.
std::string chunkHeader(std::size_t size);
inline constexpr std::string_view kChunkTrailer = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A complete small response with a text body and, when `close`, Connection: close. For the
// proxy's own errors (400, 403, 408, 431, 502, 504...).
std::string simpleResponse(int status, std::string_view reason, std::string_view body,
                           bool close = true,
                           std::string_view contentType = "text/plain; charset=utf-8");

// The standard reason phrase, or "Unknown".
std::string_view reasonPhrase(int status);

} // namespace regcache::proxy::http
