#include "proxy/http/forwarding.h"

namespace regcache::proxy::http {
namespace {

void addVia(Headers &headers) {
  if (auto existing = headers.get("Via")) {
    headers.set("Via", std::string(*existing) + ", " + std::string(kViaProxy));
  } else {
    headers.add("Via", std::string(kViaProxy));
  }
}

// Drops every framing field the peer sent: whatever it wrote, the proxy says how long the
// body is, from what its own parser framed.
void removeFraming(Headers &headers) {
  headers.remove("Content-Length");
  headers.remove("Transfer-Encoding");
}

} // namespace

RequestHead upstreamRequestHead(const RequestHead &client, const UpstreamTarget &target) {
  RequestHead head;
  head.method = target.method;
  head.target = target.originTarget;
  head.versionMajor = 1;
  head.versionMinor = 1;
  head.keepAlive = true;
  head.chunked = client.chunked;
  head.contentLength = client.chunked ? std::nullopt : client.contentLength;
  head.expectContinue = client.expectContinue;
  head.headers = client.headers;
  stripHopByHop(head.headers);
  removeFraming(head.headers);
  head.headers.set("Host", target.host);
  addVia(head.headers);
  if (head.chunked) {
    head.headers.add("Transfer-Encoding", "chunked");
  } else if (head.contentLength) {
    head.headers.add("Content-Length", std::to_string(*head.contentLength));
  }
  return head;
}

ClientFraming frameResponseForClient(ResponseHead &head, bool noBody, bool clientHttp11) {
  head.versionMajor = 1;
  head.versionMinor = 1;
  stripHopByHop(head.headers);
  removeFraming(head.headers);
  bool interim = head.status < 200;
  if (!interim) addVia(head.headers);
  if (noBody || interim || head.status == 204 || head.status == 304) {
    // A HEAD's or a 304's length describes the representation; 1xx and 204 have none at all.
    if (head.contentLength && !interim && head.status != 204) {
      head.headers.add("Content-Length", std::to_string(*head.contentLength));
    }
    return ClientFraming::kNone;
  }
  if (head.contentLength) {
    head.headers.add("Content-Length", std::to_string(*head.contentLength));
    return ClientFraming::kLength;
  }
  if (clientHttp11) {
    head.headers.add("Transfer-Encoding", "chunked");
    return ClientFraming::kChunked;
  }
  return ClientFraming::kClose;
}

} // namespace regcache::proxy::http
