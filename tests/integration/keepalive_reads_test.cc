// A keep-alive client's next bytes while a response is still being produced: the session keeps
// reading past a message end (a lazy pause: no epoll change per request), so these check that
// what arrives meanwhile waits its turn, that an EOF meanwhile does not cut the response, and that
// what may pile up is bounded.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

std::string absoluteGet(uint16_t upstreamPort, const std::string &path) {
  return "GET http://127.0.0.1:" + std::to_string(upstreamPort) + path +
         " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(upstreamPort) + "\r\n\r\n";
}

// Answers each request with its path as the body; /slow only once `release` is set (or after
// 5 s, so a broken test ends).
ScriptedUpstream::Handler pathEcho(std::atomic<bool> &release) {
  return [&release](const RecordedRequest &request, UpstreamReply &reply) {
    std::string line = request.requestLine();
    std::string path = line.substr(4, line.find(' ', 4) - 4);
    if (path == "/slow") {
      auto deadline = std::chrono::steady_clock::now() + 5s;
      while (!release.load() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    }
    reply.send(okResponse(path));
  };
}

// One worker, an upstream whose /slow waits for `release`, and a client of the proxy.
struct SlowAnswer {
  std::atomic<bool> release{false};
  ScriptedUpstream upstream{pathEcho(release)};
  ProxyFixture proxy{[](regcache::proxy::ServerOptions &o) { o.workers = 1; }};
  RawSocket client = RawSocket::connectTo(proxy.port());

  std::string get(const std::string &path) const { return absoluteGet(upstream.port(), path); }
  // Sends `requests`, then waits (5 s at most) until upstream has the first of them.
  void sendAndAwaitUpstream(const std::string &requests) {
    client.sendAll(requests);
    auto until = std::chrono::steady_clock::now() + 5s;
    while (upstream.requests().empty() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(5ms);
  }
};

} // namespace

TEST_CASE("a request sent while the previous response is pending is answered after it",
          "[keepalive]") {
  SlowAnswer at;
  auto &[release, upstream, proxy, client] = at;
  // Let the proxy read the first request to its end and start answering it, then send the next.
  at.sendAndAwaitUpstream(at.get("/slow"));
  REQUIRE(upstream.requests().size() == 1);
  client.sendAll(at.get("/next"));
  std::this_thread::sleep_for(100ms);
  CHECK(upstream.requests().size() == 1); // the next request waits for this one's answer
  release = true;
  std::string first = client.readResponse();
  std::string second = client.readResponse();
  CHECK(first.find("\r\n\r\n/slow") != std::string::npos);
  CHECK(second.find("\r\n\r\n/next") != std::string::npos);
  CHECK(upstream.requests().size() == 2);
}

TEST_CASE("a client that closes its side after a request still gets the whole response",
          "[keepalive]") {
  SlowAnswer at;
  auto &[release, upstream, proxy, client] = at;
  at.sendAndAwaitUpstream(at.get("/slow") + at.get("/after"));
  REQUIRE(::shutdown(client.fd(), SHUT_WR) == 0); // the proxy reads an EOF while it answers
  std::this_thread::sleep_for(100ms);
  release = true;
  std::string first = client.readResponse();
  CHECK(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(first.find("\r\n\r\n/slow") != std::string::npos);
  // What the client sent before its EOF is answered too; then the proxy closes.
  CHECK(client.readResponse().find("\r\n\r\n/after") != std::string::npos);
  CHECK(client.waitClosed());
}

TEST_CASE("a client that floods the next requests while one is answered is read only so far",
          "[keepalive]") {
  SlowAnswer at;
  auto &[release, upstream, proxy, client] = at;
  at.sendAndAwaitUpstream(at.get("/slow"));
  // Without a bound the proxy buffers all of it; with one, reads stop and the client's sends
  // block once the kernel's socket buffers are full (a few MiB on loopback).
  int flags = fcntl(client.fd(), F_GETFL);
  REQUIRE(fcntl(client.fd(), F_SETFL, flags | O_NONBLOCK) == 0);
  const std::string chunk(64 * 1024, 'x');
  std::size_t sent = 0;
  constexpr std::size_t kAttempt = 256u << 20;
  auto stop = std::chrono::steady_clock::now() + 2s;
  while (sent < kAttempt && std::chrono::steady_clock::now() < stop) {
    ssize_t n = ::send(client.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  REQUIRE(fcntl(client.fd(), F_SETFL, flags) == 0);
  INFO("bytes the client could send: " << sent);
  CHECK(sent < (64u << 20));
  release = true;
  CHECK(client.readResponse().find("\r\n\r\n/slow") != std::string::npos);
}
