#include <catch2/catch.hpp>

#include "recording_sinks.h"

using namespace regcache::proxy::http;
using regcache::test::feedAll;
using regcache::test::mergeBodies;
using regcache::test::RequestRecorder;

namespace {

const char *kSamples[] = {
    "GET /v2/ HTTP/1.1\r\nHost: r\r\n\r\n",
    "GET /a HTTP/1.1\r\nHost: r\r\n\r\nGET /b HTTP/1.1\r\nHost: r\r\n\r\n",
    "PUT /up HTTP/1.1\r\nHost: r\r\nContent-Length: 11\r\n\r\nhello world",
    "POST /c HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
    "world\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: r\r\n\r\n",
    "GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
    "Proxy-Connection: keep-alive\r\n\r\n",
    "HEAD /v2/x/blobs/sha256:ab HTTP/1.0\r\n\r\n",
};

} // namespace

TEST_CASE("feeding byte by byte yields the same events as feeding everything at once",
          "[http][parser]") {
  for (const char *sample : kSamples) {
    INFO(sample);
    Limits limits;
    RequestRecorder whole;
    RequestParser wholeParser(limits, whole);
    REQUIRE(feedAll(wholeParser, sample, 1 << 20) != ParseStatus::kError);
    RequestRecorder split;
    RequestParser splitParser(limits, split);
    REQUIRE(feedAll(splitParser, sample, 1) != ParseStatus::kError);
    CHECK(mergeBodies(split.events) == mergeBodies(whole.events));
    CHECK(!whole.events.empty());
  }
}

TEST_CASE("the parser pauses after each pipelined request", "[http][parser]") {
  RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  std::string input = "GET /a HTTP/1.1\r\nHost: r\r\n\r\nGET /b HTTP/1.1\r\nHost: r\r\n\r\n";
  auto first = parser.feed(input);
  REQUIRE(first.status == ParseStatus::kPaused);
  CHECK(first.consumed == input.find("GET /b"));
  CHECK(sink.events == std::vector<std::string>{"head GET /a", "end"});
  parser.resume();
  auto second = parser.feed(std::string_view(input).substr(first.consumed));
  CHECK(second.status == ParseStatus::kPaused);
  CHECK(sink.events.back() == "end");
  CHECK(sink.heads.at(1).target == "/b");
}

TEST_CASE("a CONNECT head stops with kUpgrade and leaves the tunnel bytes unconsumed",
          "[http][parser]") {
  RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  std::string head = "CONNECT registry.test:443 HTTP/1.1\r\nHost: registry.test:443\r\n\r\n";
  auto result = parser.feed(head + "\x16\x03\x01");
  CHECK(result.status == ParseStatus::kUpgrade);
  CHECK(result.consumed == head.size());
  REQUIRE(sink.heads.size() == 1);
  CHECK(sink.heads[0].method == "CONNECT");
  CHECK(sink.heads[0].target == "registry.test:443");
}

TEST_CASE("request heads carry framing and keep-alive facts", "[http][parser]") {
  RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  auto r = parser.feed("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                       "Expect: 100-continue\r\nConnection: close\r\n\r\nabc");
  REQUIRE(r.status == ParseStatus::kPaused);
  const auto &head = sink.heads.at(0);
  CHECK(head.contentLength == 3u);
  CHECK_FALSE(head.chunked);
  CHECK(head.expectContinue);
  CHECK_FALSE(head.keepAlive);
  CHECK(head.headers.get("host") == "h");
  CHECK(sink.events.at(1) == "body abc");
}

TEST_CASE("HTTP/1.0 requests are not kept alive unless asked", "[http][parser]") {
  RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  REQUIRE(parser.feed("GET / HTTP/1.0\r\n\r\n").status == ParseStatus::kPaused);
  CHECK_FALSE(sink.heads.at(0).keepAlive);
  CHECK(sink.heads.at(0).versionMinor == 0);
}

TEST_CASE("smuggling attempts are rejected", "[http][parser][security]") {
  const char *attacks[] = {
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
      "GET / HTTP/1.1\nHost: h\n\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
  };
  for (const char *attack : attacks) {
    INFO(attack);
    RequestRecorder sink;
    RequestParser parser(Limits{}, sink);
    CHECK(feedAll(parser, attack, 1 << 20) == ParseStatus::kError);
    CHECK(statusFor(parser.error()) == 400);
  }
}

TEST_CASE("malformed request lines are errors, whatever the split", "[http][parser]") {
  const char *garbage[] = {"\x16\x03\x01\x00\x05hello\r\n\r\n", "GET\r\n\r\n",
                           "GET / FOO/1.1\r\n\r\n", "G@T / HTTP/1.1\r\n\r\n"};
  for (const char *g : garbage) {
    for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{1 << 20}}) {
      RequestRecorder sink;
      RequestParser parser(Limits{}, sink);
      CHECK(feedAll(parser, g, step) == ParseStatus::kError);
      CHECK(parser.error() == ParseError::kMalformed);
    }
  }
}

TEST_CASE("a header section over the byte limit is a 431", "[http][parser][limits]") {
  Limits limits;
  limits.maxHeaderBytes = 1024;
  RequestRecorder sink;
  RequestParser parser(limits, sink);
  std::string request = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  CHECK(feedAll(parser, request, 7) == ParseStatus::kError);
  CHECK(parser.error() == ParseError::kHeadersTooLarge);
  CHECK(statusFor(parser.error()) == 431);
  CHECK(sink.heads.empty());
}

TEST_CASE("too many header fields is a 431", "[http][parser][limits]") {
  Limits limits;
  limits.maxHeaderCount = 5;
  RequestRecorder sink;
  RequestParser parser(limits, sink);
  std::string request = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 6; ++i)
    request += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(feedAll(parser, request + "\r\n", 1 << 20) == ParseStatus::kError);
  CHECK(parser.error() == ParseError::kTooManyHeaders);
  CHECK(statusFor(parser.error()) == 431);
}

TEST_CASE("a request line over the limit is a 414", "[http][parser][limits]") {
  Limits limits;
  limits.maxRequestLine = 100;
  RequestRecorder sink;
  RequestParser parser(limits, sink);
  CHECK(feedAll(parser, "GET /" + std::string(200, 'x') + " HTTP/1.1\r\n\r\n", 13) ==
        ParseStatus::kError);
  CHECK(parser.error() == ParseError::kRequestLineTooLong);
  CHECK(statusFor(parser.error()) == 414);
}

TEST_CASE("midMessage tells a started request from an idle connection", "[http][parser]") {
  RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  CHECK_FALSE(parser.midMessage());
  REQUIRE(parser.feed("GET / HT").status == ParseStatus::kNeedMore);
  CHECK(parser.midMessage());
  REQUIRE(parser.feed("TP/1.1\r\n\r\n").status == ParseStatus::kPaused);
  CHECK_FALSE(parser.midMessage());
}

TEST_CASE("a folded header line is unfolded, so what is forwarded is one line",
          "[http][parser][security]") {
  // RFC 9112 5.2 lets a recipient replace obs-fold with spaces; llhttp does, and the proxy
  // re-serializes every header, so no CRLF inside a value can reach the upstream.
  RequestRecorder sink;
  RequestParser parser(Limits{}, sink);
  REQUIRE(parser.feed("GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n").status ==
          ParseStatus::kPaused);
  auto value = sink.heads.at(0).headers.get("X-Folded");
  REQUIRE(value);
  CHECK(value->find_first_of("\r\n") == std::string_view::npos);
}

namespace {
// Holds every head, as a session does while a proxy password is checked.
struct HoldingRecorder : RequestRecorder {
  RequestParser *parser = nullptr;
  void onRequestHead(RequestHead &&head) override {
    RequestRecorder::onRequestHead(std::move(head));
    parser->holdAfterHead();
  }
};
} // namespace

TEST_CASE("a hold stops the parser after the head; resume() goes on with the body",
          "[http][parser]") {
  HoldingRecorder sink;
  RequestParser parser(Limits{}, sink);
  sink.parser = &parser;
  std::string head = "PUT /up HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\n\r\n";
  auto held = parser.feed(head + "hello");
  CHECK(held.status == ParseStatus::kPaused);
  CHECK(held.consumed == head.size());
  CHECK(parser.holding());
  CHECK(sink.events == std::vector<std::string>{"head PUT /up"});
  parser.resume();
  auto rest = parser.feed("hello");
  CHECK(rest.status == ParseStatus::kPaused); // the message's end
  CHECK(rest.consumed == 5);
  CHECK(sink.events == std::vector<std::string>{"head PUT /up", "body hello", "end"});
}

TEST_CASE("after a hold, an empty feed finishes a bodiless request or a CONNECT",
          "[http][parser]") {
  for (std::string request : {std::string("GET /v2/ HTTP/1.1\r\nHost: r\r\n\r\n"),
                              std::string("CONNECT r:443 HTTP/1.1\r\nHost: r:443\r\n\r\n")}) {
    INFO(request);
    HoldingRecorder sink;
    RequestParser parser(Limits{}, sink);
    sink.parser = &parser;
    auto held = parser.feed(request);
    CHECK(held.status == ParseStatus::kPaused);
    CHECK(held.consumed == request.size());
    parser.resume();
    auto rest = parser.feed("");
    bool connect = request.rfind("CONNECT", 0) == 0;
    CHECK(rest.status == (connect ? ParseStatus::kUpgrade : ParseStatus::kPaused));
    CHECK(rest.consumed == 0);
    CHECK(sink.events.back() == "end");
    CHECK_FALSE(parser.holding());
    CHECK(parser.feed("").status == ParseStatus::kNeedMore); // nothing held any more
  }
}

TEST_CASE("HTTP/0.9 request lines and the PRI method are refused with 505", "[http][parser]") {
  const char *refused[] = {
      "GET /v2/\r\nHost: r\r\n\r\n",                       // no version: HTTP/0.9 to llhttp
      "PRI /v2/ HTTP/1.1\r\nHost: r\r\n\r\n",              // HTTP/2's preface method
      "PRI /v3ts\r\nExpect: 100-continue\r\n\r\n{}GET /v", // what fuzz_forwarding found
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  };
  for (const char *request : refused) {
    INFO(request);
    Limits limits;
    RequestRecorder recorder;
    RequestParser parser(limits, recorder);
    REQUIRE(feedAll(parser, request, 1 << 20) == ParseStatus::kError);
    CHECK(recorder.events.empty()); // no head reached the session
  }
  Limits limits;
  RequestRecorder recorder;
  RequestParser parser(limits, recorder);
  REQUIRE(feedAll(parser, "GET /v2/\r\nHost: r\r\n\r\n", 1 << 20) == ParseStatus::kError);
  CHECK(statusFor(parser.error()) == 505);
}
