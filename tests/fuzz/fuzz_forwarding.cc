// Drives the forwarding path: every request the parser frames from arbitrary client bytes is
// turned into the request the proxy would send upstream (http::upstreamRequestHead, the very
// function Exchange::sendRequestHead uses, with the body framed as Exchange frames it). That
// request is parsed again, and it must be exactly one request, consumed to its last byte, whose
// method, target, framing, body and Host are what the proxy decided. Anything else is a request
// smuggled past the proxy.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "proxy/http/forwarding.h"
#include "proxy/http/parser.h"
#include "proxy/session/route.h"
#include "tests/fuzz/feed_in_steps.h"

using namespace regcache::proxy::http;

namespace {

constexpr std::string_view kUpstreamHost = "registry.test";

[[noreturn]] void broken() { std::abort(); }

// One request as the client sent it: head, decoded body, complete or not.
struct Received {
  RequestHead head;
  std::string body;
  bool ended = false;
};

struct Collector : RequestSink {
  std::vector<Received> requests;
  void onRequestHead(RequestHead &&head) override { requests.push_back({std::move(head), {}}); }
  void onRequestBody(std::string_view data) override {
    if (requests.empty()) broken();
    requests.back().body.append(data);
  }
  void onRequestEnd() override {
    if (requests.empty()) broken();
    requests.back().ended = true;
  }
};

// The path and query the proxy would send: the router's choice, as Exchange gets it.
std::string originTargetFor(const RequestHead &head) {
  auto route = regcache::proxy::routeRequest(head, std::nullopt);
  if (route.kind == regcache::proxy::RouteKind::kForward) return route.originTarget;
  auto intercepted = regcache::proxy::routeRequest(head, HostPort{"registry.test", 443, false});
  if (intercepted.kind == regcache::proxy::RouteKind::kForward) return intercepted.originTarget;
  return "/";
}

// What the proxy writes upstream: the head, then the body as Exchange::onRequestBody frames it
// (each piece its own chunk when chunked, raw otherwise).
std::string wireFor(const RequestHead &out, const std::string &body, std::size_t piece) {
  std::string wire = serializeRequestHead(out);
  if (out.chunked) {
    for (std::size_t at = 0; at < body.size(); at += piece) {
      std::string_view part = std::string_view(body).substr(at, piece);
      wire += chunkHeader(part.size());
      wire += part;
      wire += kChunkTrailer;
    }
    wire += kLastChunk;
  } else {
    wire += body;
  }
  return wire;
}

void checkForwarded(const Received &in, std::size_t piece) {
  UpstreamTarget target{in.head.method, originTargetFor(in.head), std::string(kUpstreamHost)};
  RequestHead out = upstreamRequestHead(in.head, target);
  std::string wire = wireFor(out, in.body, piece);

  Limits roomy; // the proxy's own head is larger than the client's (Via, Host, framing)
  roomy.maxRequestLine = 1 << 20;
  roomy.maxHeaderBytes = 1 << 22;
  roomy.maxHeaderCount = 1 << 16;
  Collector again;
  RequestParser parser(roomy, again);
  auto result = parser.feed(wire);
  // Exactly one message, ending at the last byte written: nothing left over to be read as a
  // second request.
  if (result.status != ParseStatus::kPaused || result.consumed != wire.size()) broken();
  if (again.requests.size() != 1 || !again.requests[0].ended) broken();
  const RequestHead &seen = again.requests[0].head;
  if (seen.method != in.head.method || seen.target != target.originTarget) broken();
  if (seen.chunked != in.head.chunked) broken();
  if (!in.head.chunked && seen.contentLength.value_or(0) != in.head.contentLength.value_or(0)) {
    broken();
  }
  if (again.requests[0].body != in.body) broken();
  if (seen.headers.get("Host") != kUpstreamHost) broken();
  for (const auto &[name, value] : seen.headers.entries()) {
    if (equalsIgnoreCase(name, "Host") && value != kUpstreamHost) broken(); // one Host only
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 16; // how the client's bytes arrive, and the chunk size
  std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);
  Limits limits;
  limits.maxHeaderBytes = 8192;
  limits.maxHeaderCount = 64;
  Collector client;
  RequestParser parser(limits, client);
  // An error, or CONNECT/Upgrade, ends the feed: nothing after it is forwarded as HTTP.
  regcache::fuzz::feedInSteps(parser, input, step, [] {});
  for (const auto &request : client.requests) {
    // CONNECT is never forwarded as a request; a request cut short never completes upstream.
    if (request.ended && request.head.method != "CONNECT") checkForwarded(request, step);
  }
  return 0;
}
