#pragma once
// The heads the proxy sends on, built from what the parser framed and never from the peer's own
// framing fields: a request for upstream from a client's, and a response for the client from
// upstream's. Pure functions, so the fuzzer and the unit tests drive exactly what the proxy
// sends. A peer's Connection header can name only hop-by-hop fields away (see stripHopByHop):
// Host, Content-Length and Transfer-Encoding are always set here.
#include <string>

#include "proxy/http/message.h"

namespace regcache::proxy::http {

inline constexpr std::string_view kViaProxy = "1.1 regcache";

// Where the request goes: what the proxy decided, not what the client wrote.
struct UpstreamTarget {
  std::string method;       // the client's, or "HEAD" for a revalidation
  std::string originTarget; // "/v2/...?..."
  std::string host;         // the Host field: the authority the proxy connects to
};

// The HTTP/1.1 head to send upstream for `client` (as the request parser produced it). Hop-by-hop
// fields are removed; Host is target.host (whatever the client sent); the body is framed from
// client.chunked / client.contentLength alone: "Transfer-Encoding: chunked", or
// "Content-Length: N", or neither for a request without a body. Via gains the proxy. The caller
// sends the body as framed: chunk-encoded (chunkHeader) when chunked, else exactly N bytes.
RequestHead upstreamRequestHead(const RequestHead &client, const UpstreamTarget &target);

// How a response's body reaches the client.
enum class ClientFraming {
  kNone,    // no body (HEAD, 1xx, 204, 304)
  kLength,  // Content-Length: exactly that many bytes follow
  kChunked, // the proxy chunk-encodes what the parser decoded
  kClose,   // an HTTP/1.0 client without a length: the body ends when the connection closes
};

// Re-frames upstream's `head` for the client in place: HTTP/1.1, hop-by-hop fields gone, Via
// added (to final responses), and Content-Length / Transfer-Encoding set from head.contentLength
// and head.chunked alone. `noBody`: the response has no body whatever its head says (a HEAD
// request's answer, 1xx, 204, 304); its Content-Length is kept as information, except on 1xx and
// 204. `clientHttp11`: the client reads chunked bodies. Returns how the body is to be sent.
ClientFraming frameResponseForClient(ResponseHead &head, bool noBody, bool clientHttp11);

} // namespace regcache::proxy::http
