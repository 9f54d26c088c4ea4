#include <catch2/catch.hpp>

#include <string>

#include "proxy/http/connect_answer.h"

using regcache::proxy::http::ConnectAnswer;
using State = ConnectAnswer::State;

TEST_CASE("a 200 answer opens the tunnel; bytes after the head are the tunnel's",
          "[connect_answer]") {
  const std::string head = "HTTP/1.1 200 Connection established\r\nVia: 1.1 squid\r\n\r\n";
  const std::string tunnel = "\x16\x03\x01 tunnel bytes";
  ConnectAnswer answer;
  CHECK(answer.feed(head + tunnel) == head.size());
  CHECK(answer.state() == State::kEstablished);
  CHECK(answer.status() == 200);
  CHECK(answer.reason() == "Connection established");
  CHECK(answer.feed("more") == 0); // settled: nothing more is the head's
}

TEST_CASE("the answer may arrive byte by byte, with interim heads first", "[connect_answer]") {
  const std::string head = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n";
  const std::string bytes = head + "TUNNEL";
  ConnectAnswer answer;
  std::size_t used = 0;
  for (std::size_t i = 0; i < bytes.size() && answer.state() == State::kNeedMore; ++i) {
    used += answer.feed(bytes.substr(i, 1));
  }
  CHECK(answer.state() == State::kEstablished);
  CHECK(used == head.size());
}

TEST_CASE("a non-2xx answer is a refusal with its status, whatever body follows",
          "[connect_answer]") {
  for (auto [text, status] : std::initializer_list<std::pair<const char *, int>>{
           {"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
            "Content-Length: 5\r\n\r\nnope!",
            407},
           {"HTTP/1.1 403 Forbidden\r\nContent-Length: 100000\r\n\r\npartial", 403},
           {"HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\nzz-not-chunked", 502},
           {"HTTP/1.1 101 Switching Protocols\r\n\r\n", 101},
           {"HTTP/1.1 302 Found\r\nLocation: http://x/\r\n\r\n", 302}}) {
    INFO(text);
    ConnectAnswer answer;
    (void)answer.feed(text);
    CHECK(answer.state() == State::kRefused);
    CHECK(answer.status() == status);
  }
}

TEST_CASE("garbage is malformed, not a tunnel", "[connect_answer]") {
  for (const char *text :
       {"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 abc OK\r\n\r\n", "\x16\x03\x01\x02\x00\x01\x00",
        "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"}) {
    INFO(text);
    ConnectAnswer answer;
    (void)answer.feed(text);
    CHECK(answer.state() == State::kMalformed);
    CHECK_FALSE(answer.reason().empty());
  }
}

TEST_CASE("an endless head stops at the bound", "[connect_answer]") {
  ConnectAnswer answer(1024);
  CHECK(answer.feed("HTTP/1.1 200 OK\r\n") == 17);
  const std::string header = "X-Pad: " + std::string(100, 'a') + "\r\n";
  std::size_t fed = 17;
  for (int i = 0; i < 100 && answer.state() == State::kNeedMore; ++i)
    fed += answer.feed(header);
  CHECK(answer.state() == State::kTooLarge);
  CHECK(fed <= 1024);
  // One long status line, too.
  ConnectAnswer line(1024);
  (void)line.feed("HTTP/1.1 200 " + std::string(5000, 'x'));
  CHECK(line.state() == State::kTooLarge);
  // Interim heads count towards the bound and their number is bounded.
  ConnectAnswer interim;
  for (int i = 0; i < 20 && interim.state() == State::kNeedMore; ++i)
    (void)interim.feed("HTTP/1.1 100 Continue\r\n\r\n");
  CHECK(interim.state() != State::kNeedMore);
  CHECK(interim.state() != State::kEstablished);
}

TEST_CASE("the parent's reason phrase is kept printable and short", "[connect_answer]") {
  ConnectAnswer answer;
  (void)answer.feed("HTTP/1.1 403 Nope \xff\xfe" + std::string(500, 'x') + "\r\n\r\n");
  CHECK(answer.state() == State::kRefused);
  CHECK(answer.reason().rfind("Nope ??x", 0) == 0);
  CHECK(answer.reason().size() == 100);
}
