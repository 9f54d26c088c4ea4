#include <catch2/catch.hpp>

#include "proxy/http/message.h"
#include "recording_sinks.h"

using namespace regcache::proxy::http;

TEST_CASE("a serialized request head parses back to the same head", "[http][message]") {
  RequestHead head;
  head.method = "GET";
  head.target = "/v2/library/alpine/manifests/3.19";
  head.headers.add("Host", "registry-1.docker.io");
  head.headers.add("Accept", "application/vnd.oci.image.index.v1+json");
  std::string wire = serializeRequestHead(head);
  CHECK(wire.substr(wire.size() - 4) == "\r\n\r\n");
  regcache::test::RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  REQUIRE(parser.feed(wire).status == ParseStatus::kPaused);
  CHECK(sink.heads.at(0).target == head.target);
  CHECK(sink.heads.at(0).headers.entries() == head.headers.entries());
}

TEST_CASE("a serialized response head parses back", "[http][message]") {
  ResponseHead head;
  head.status = 307;
  head.headers.add("Location", "https://cdn.example/blob");
  head.headers.add("Content-Length", "0");
  std::string wire = serializeResponseHead(head);
  CHECK(wire.rfind("HTTP/1.1 307 Temporary Redirect\r\n", 0) == 0);
  regcache::test::ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("GET");
  REQUIRE(parser.feed(wire).status == ParseStatus::kPaused);
  CHECK(sink.heads.at(0).headers.get("location") == "https://cdn.example/blob");
}

TEST_CASE("chunk framing round-trips through the parser", "[http][message]") {
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string &part : {std::string("hello"), std::string(300, 'x')}) {
    wire += chunkHeader(part.size()) + part + std::string(kChunkTrailer);
  }
  wire += std::string(kLastChunk);
  regcache::test::ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("GET");
  REQUIRE(parser.feed(wire).status == ParseStatus::kPaused);
  CHECK(regcache::test::mergeBodies(sink.events).at(1) == "body hello" + std::string(300, 'x'));
  CHECK(chunkHeader(300) == "12c\r\n");
}

TEST_CASE("simple responses are complete and say when they close", "[http][message]") {
  std::string r = simpleResponse(502, reasonPhrase(502), "upstream down\n");
  CHECK(r.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0) == 0);
  CHECK(r.find("Content-Length: 14\r\n") != std::string::npos);
  CHECK(r.find("Connection: close\r\n") != std::string::npos);
  CHECK(reasonPhrase(431) == "Request Header Fields Too Large");
  CHECK(reasonPhrase(599) == "Unknown");
}
