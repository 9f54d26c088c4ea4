#include <catch2/catch.hpp>

#include "recording_sinks.h"

using namespace regcache::proxy::http;
using regcache::test::feedAll;
using regcache::test::mergeBodies;
using regcache::test::ResponseRecorder;

TEST_CASE("a response to HEAD has no body despite its Content-Length", "[http][response]") {
  ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("HEAD");
  auto r = parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  CHECK(r.status == ParseStatus::kPaused);
  CHECK(sink.events == std::vector<std::string>{"head 200", "end"});
  CHECK(sink.heads.at(0).contentLength == 1000u);
}

TEST_CASE("interim 1xx heads come before the final response", "[http][response]") {
  ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("PUT");
  auto r = parser.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: "
                       "2\r\n\r\nok");
  CHECK(r.status == ParseStatus::kPaused);
  CHECK(sink.events == std::vector<std::string>{"head 100", "head 201", "body ok", "end"});
}

TEST_CASE("204 and 304 responses have no body", "[http][response]") {
  for (int status : {204, 304}) {
    ResponseRecorder sink;
    ResponseParser parser(Limits{}, sink);
    parser.expectResponseTo("GET");
    std::string text = "HTTP/1.1 " + std::to_string(status) + " X\r\n\r\n";
    CHECK(parser.feed(text).status == ParseStatus::kPaused);
    CHECK(sink.events.back() == "end");
  }
}

TEST_CASE("a chunked response is decoded, split anywhere", "[http][response]") {
  std::string text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{5}, text.size()}) {
    ResponseRecorder sink;
    ResponseParser parser(Limits{}, sink);
    parser.expectResponseTo("GET");
    REQUIRE(feedAll(parser, text, step) != ParseStatus::kError);
    CHECK(mergeBodies(sink.events) ==
          std::vector<std::string>{"head 200", "body Wikipedia", "end"});
    CHECK(sink.heads.at(0).chunked);
  }
}

TEST_CASE("a close-delimited body completes on EOF", "[http][response]") {
  ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("GET");
  CHECK(parser.feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end").status ==
        ParseStatus::kNeedMore);
  CHECK(parser.finishOnEof());
  CHECK(mergeBodies(sink.events) ==
        std::vector<std::string>{"head 200", "body until the end", "end"});
}

TEST_CASE("EOF inside a Content-Length body is a truncation", "[http][response]") {
  ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("GET");
  parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  CHECK_FALSE(parser.finishOnEof());
  CHECK(parser.error() == ParseError::kUnexpectedEof);
  CHECK(sink.events.back() != "end");
}

TEST_CASE("EOF before any response is not a response", "[http][response]") {
  ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  CHECK_FALSE(parser.finishOnEof());
}

TEST_CASE("keep-alive responses parse back to back after resume", "[http][response]") {
  ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("GET");
  std::string two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 NF\r\n"
                    "Content-Length: 0\r\n\r\n";
  auto first = parser.feed(two);
  REQUIRE(first.status == ParseStatus::kPaused);
  parser.resume();
  parser.expectResponseTo("GET");
  auto second = parser.feed(std::string_view(two).substr(first.consumed));
  CHECK(second.status == ParseStatus::kPaused);
  CHECK(sink.heads.at(1).status == 404);
  CHECK(sink.heads.at(1).reason == "NF");
}

TEST_CASE("a garbage status line is an error", "[http][response]") {
  ResponseRecorder sink;
  ResponseParser parser(Limits{}, sink);
  parser.expectResponseTo("GET");
  CHECK(parser.feed("SSH-2.0-OpenSSH\r\n").status == ParseStatus::kError);
  CHECK(parser.error() == ParseError::kMalformed);
}

TEST_CASE("an oversized response head is refused", "[http][response][limits]") {
  Limits limits;
  limits.maxHeaderBytes = 512;
  ResponseRecorder sink;
  ResponseParser parser(limits, sink);
  parser.expectResponseTo("GET");
  auto r = parser.feed("HTTP/1.1 200 OK\r\nX: " + std::string(1000, 'b') + "\r\n\r\n");
  CHECK(r.status == ParseStatus::kError);
  CHECK(parser.error() == ParseError::kHeadersTooLarge);
}

TEST_CASE("more interim heads than the limit fail the response", "[http][response]") {
  Limits limits;
  limits.maxInterimResponses = 3;
  std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  std::string final = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  {
    ResponseRecorder sink;
    ResponseParser parser(limits, sink);
    parser.expectResponseTo("GET");
    // Up to the limit, for each response on the connection.
    std::string two = interim + interim + interim + final;
    CHECK(feedAll(parser, two + two, 7) == ParseStatus::kPaused);
    CHECK(sink.events.size() == 10);
  }
  ResponseRecorder sink;
  ResponseParser parser(limits, sink);
  parser.expectResponseTo("GET");
  std::string flood;
  for (int i = 0; i < 100; ++i)
    flood += interim;
  auto r = parser.feed(flood + final);
  CHECK(r.status == ParseStatus::kError);
  CHECK(parser.error() == ParseError::kTooManyInterimResponses);
  CHECK(parser.errorReason() == "too many interim (1xx) responses");
  CHECK(sink.heads.size() == 3); // the one past the limit is never delivered
  CHECK(r.consumed < flood.size());
}
