#include <catch2/catch.hpp>

#include "proxy/http/forwarding.h"
#include "proxy/http/parser.h"
#include "recording_sinks.h"

using namespace regcache::proxy::http;
using regcache::test::feedAll;
using regcache::test::RequestRecorder;

namespace {

RequestHead parsedRequest(const std::string &wire) {
  RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  feedAll(parser, wire, wire.size());
  REQUIRE(sink.heads.size() == 1);
  return sink.heads.front();
}

UpstreamTarget target(std::string method = "GET") {
  return UpstreamTarget{std::move(method), "/v2/", "registry.test"};
}

} // namespace

TEST_CASE("the upstream request's length comes from the parser, not from Connection",
          "[http][forwarding]") {
  RequestHead client = parsedRequest("GET http://registry.test/v2/ HTTP/1.1\r\n"
                                     "Host: registry.test\r\nConnection: Content-Length\r\n"
                                     "Content-Length: 12\r\n\r\nDELETE / HTTP");
  RequestHead out = upstreamRequestHead(client, target());
  CHECK(out.headers.get("Content-Length") == "12");
  CHECK_FALSE(out.headers.has("Connection"));
  CHECK_FALSE(out.headers.has("Transfer-Encoding"));
  CHECK(out.target == "/v2/");
  CHECK(out.versionMinor == 1);
}

TEST_CASE("a chunked request goes upstream chunked with no Content-Length", "[http][forwarding]") {
  RequestHead client = parsedRequest("POST /up HTTP/1.1\r\nHost: r\r\n"
                                     "Connection: Transfer-Encoding\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  RequestHead out = upstreamRequestHead(client, target("POST"));
  CHECK(out.headers.get("Transfer-Encoding") == "chunked");
  CHECK_FALSE(out.headers.has("Content-Length"));
  CHECK(out.chunked);
}

TEST_CASE("a request without a body gets no framing fields, whatever it listed",
          "[http][forwarding]") {
  RequestHead client;
  client.method = "GET";
  client.target = "/v2/";
  client.headers.add("Transfer-Encoding", "gzip"); // hand-built: not what any parser framed
  client.headers.add("Content-Length", "7");
  RequestHead out = upstreamRequestHead(client, target());
  CHECK_FALSE(out.headers.has("Content-Length"));
  CHECK_FALSE(out.headers.has("Transfer-Encoding"));
}

TEST_CASE("Host upstream is the target's, whatever the client sent", "[http][forwarding]") {
  RequestHead client = parsedRequest("GET /v2/ HTTP/1.1\r\nHost: b.test\r\nConnection: Host\r\n"
                                     "Via: 1.1 edge\r\nAuthorization: Bearer t\r\n\r\n");
  RequestHead out = upstreamRequestHead(client, target("HEAD"));
  CHECK(out.method == "HEAD");
  CHECK(out.headers.get("Host") == "registry.test");
  CHECK(out.headers.get("Via") == "1.1 edge, 1.1 regcache");
  CHECK(out.headers.get("Authorization") == "Bearer t");
  std::string wire = serializeRequestHead(out);
  CHECK(wire.find("b.test") == std::string::npos);
}

TEST_CASE("the response to the client carries the parsed length, not upstream's fields",
          "[http][forwarding]") {
  ResponseHead head;
  head.status = 200;
  head.contentLength = 5;
  head.headers.add("Connection", "Content-Length, Docker-Content-Digest, X-Hop");
  head.headers.add("Content-Length", "5");
  head.headers.add("Docker-Content-Digest", "sha256:ab");
  head.headers.add("X-Hop", "1");
  CHECK(frameResponseForClient(head, false, true) == ClientFraming::kLength);
  CHECK(head.headers.get("Content-Length") == "5");
  CHECK(head.headers.get("Docker-Content-Digest") == "sha256:ab");
  CHECK_FALSE(head.headers.has("X-Hop"));
  CHECK(head.headers.get("Via") == "1.1 regcache");
}

TEST_CASE("a response without a length is chunked for HTTP/1.1 clients, closed for 1.0",
          "[http][forwarding]") {
  ResponseHead chunked;
  chunked.status = 200;
  chunked.chunked = true;
  chunked.headers.add("Transfer-Encoding", "chunked");
  CHECK(frameResponseForClient(chunked, false, true) == ClientFraming::kChunked);
  CHECK(chunked.headers.get("Transfer-Encoding") == "chunked");
  ResponseHead old;
  old.status = 200;
  CHECK(frameResponseForClient(old, false, false) == ClientFraming::kClose);
  CHECK_FALSE(old.headers.has("Transfer-Encoding"));
}

TEST_CASE("bodiless responses keep a HEAD's length but 1xx and 204 carry none",
          "[http][forwarding]") {
  ResponseHead head;
  head.status = 200;
  head.contentLength = 1000;
  CHECK(frameResponseForClient(head, true, true) == ClientFraming::kNone);
  CHECK(head.headers.get("Content-Length") == "1000");
  ResponseHead interim;
  interim.status = 100;
  interim.contentLength = 4;
  interim.headers.add("Content-Length", "4");
  CHECK(frameResponseForClient(interim, true, true) == ClientFraming::kNone);
  CHECK_FALSE(interim.headers.has("Content-Length"));
  ResponseHead empty;
  empty.status = 204;
  empty.contentLength = 0;
  CHECK(frameResponseForClient(empty, false, true) == ClientFraming::kNone);
  CHECK_FALSE(empty.headers.has("Content-Length"));
}
