// --max-idle-connections (issue 11, workload 7): past the bound the proxy closes the connections
// idle longest, cleanly (TLS close_notify, then FIN), and never one with a request or a response
// under way, nor a CONNECT tunnel. Every wait is bounded.
#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/openssl_handles.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;

namespace {

std::string connectRequest(const std::string &target) {
  return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
}

std::string getRequest(const std::string &path, const std::string &host) {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

// A client of an intercepted CONNECT: the TLS session inside it, over blocking calls whose reads
// wait at most 200 ms each (the callers bound the total). The leaf is not verified: not the point.
class InterceptedClient {
public:
  InterceptedClient(uint16_t proxyPort, std::string target)
      : socket_(RawSocket::connectTo(proxyPort)), target_(std::move(target)) {
    socket_.sendAll(connectRequest(target_));
    std::string reply = socket_.readUntil(
        [](const std::string &r) { return r.find("\r\n\r\n") != std::string::npos; });
    if (reply.rfind("HTTP/1.1 200", 0) != 0) throw std::runtime_error("CONNECT: " + reply);
    timeval tv{0, 200 * 1000};
    setsockopt(socket_.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), socket_.fd());
    SSL_set_tlsext_host_name(ssl_.get(), "registry.test");
    ERR_clear_error();
    for (int i = 0; i < 25; ++i) { // at most 5 s
      int rc = SSL_connect(ssl_.get());
      if (rc == 1) return;
      if (SSL_get_error(ssl_.get(), rc) != SSL_ERROR_WANT_READ) break;
    }
    throw std::runtime_error("TLS handshake through the proxy failed");
  }

  void send(const std::string &bytes) {
    if (SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())) <= 0) {
      failed_ = true;
    }
  }

  // Reads one whole response (head and Content-Length body); what came, if not whole in time.
  std::string readResponse(std::chrono::milliseconds timeout = 5000ms) {
    std::string response;
    std::vector<char> buf(1 << 16);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!failed_ && responseLength(response) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
      if (n > 0) {
        response.append(buf.data(), static_cast<std::size_t>(n));
      } else if (SSL_get_error(ssl_.get(), n) != SSL_ERROR_WANT_READ) {
        failed_ = true;
      }
    }
    ERR_clear_error();
    return response;
  }

  // One keep-alive GET; the response, or "" when the connection is gone.
  std::string get(const std::string &path) {
    send(getRequest(path, target_));
    return failed_ ? std::string() : readResponse();
  }

  // True when the proxy ends the TLS session with a close_notify and then the TCP connection
  // with a FIN, within `timeout`; false on data, a bare EOF or a reset.
  bool closedCleanly(std::chrono::milliseconds timeout) {
    char byte = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int n = SSL_read(ssl_.get(), &byte, 1);
      int error = SSL_get_error(ssl_.get(), n);
      ERR_clear_error();
      if (n > 0) return false;
      if (error == SSL_ERROR_WANT_READ) continue;
      if (error != SSL_ERROR_ZERO_RETURN) return false;
      // The close_notify came: the FIN follows.
      return socket_.waitClosed(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now() + 200ms));
    }
    return false;
  }

private:
  RawSocket socket_;
  std::string target_;
  regcache::SslCtxPtr ctx_{SSL_CTX_new(TLS_client_method())};
  regcache::SslPtr ssl_;
  bool failed_ = false;
};

std::string healthz(RawSocket &client) {
  client.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  return client.readResponse(3000ms);
}

bool ok(const std::string &response) { return response.rfind("HTTP/1.1 200", 0) == 0; }

std::string metrics(uint16_t port) {
  auto client = RawSocket::connectTo(port); // Connection: close, so it never idles itself
  client.sendAll("GET /metrics HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");
  return client.readAll(3000ms);
}

// Polls /metrics until regcache_idle_connections reads `count` (at most 3 s).
bool idleCountReaches(uint16_t port, std::size_t count) {
  std::string line = "\nregcache_idle_connections " + std::to_string(count) + "\n";
  for (int i = 0; i < 30; ++i) {
    if (metrics(port).find(line) != std::string::npos) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// An upstream answering GET /big with `bodySize` bytes and anything else with "pong".
ScriptedUpstream bigOrPong(std::size_t bodySize) {
  return ScriptedUpstream([bodySize](const RecordedRequest &request, UpstreamReply &reply) {
    if (request.requestLine().find("/big") == std::string::npos) {
      reply.send(okResponse("pong"));
      return;
    }
    if (!reply.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(bodySize) +
                    "\r\n\r\n")) {
      return;
    }
    std::string chunk(1 << 20, 'z');
    for (std::size_t sent = 0; sent < bodySize; sent += chunk.size()) {
      if (!reply.send(chunk.substr(0, std::min(chunk.size(), bodySize - sent)))) return;
    }
  });
}

// Waits until the upstream has sent nothing new for 300 ms (at most 10 s).
void waitUpstreamStill(const ScriptedUpstream &upstream) {
  std::uint64_t before = 0;
  for (int i = 0; i < 33; ++i) {
    std::this_thread::sleep_for(300ms);
    std::uint64_t now = upstream.bytesSent();
    if (now == before && now > 0) return;
    before = now;
  }
}

// A client reads nothing of a big response while three others go idle past a bound of 2: the
// oldest idle one is closed, the slow reader never, and it then reads every byte.
// `highWatermark`: how much the proxy queues for it (small: the response is still being
// forwarded, the session busy; larger than the body: the proxy has the whole response and the
// session waits between requests with its output still being written).
void slowReaderIsNeverClosed(std::size_t highWatermark) {
  constexpr std::size_t kBody = 24u << 20; // far more than the socket buffers on the path
  ScriptedUpstream upstream = bigOrPong(kBody);
  TlsFront tls(upstream.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamCaFiles = {tls.caFile()};
    o.maxIdleConnections = 2;
    o.relayHighWatermark = highWatermark;
  });
  std::string target = "127.0.0.1:" + std::to_string(tls.port());
  InterceptedClient slow(proxy.port(), target);
  slow.send(getRequest("/big", target));
  waitUpstreamStill(upstream);
  std::this_thread::sleep_for(300ms); // the proxy takes what the TLS front relays

  std::vector<std::unique_ptr<InterceptedClient>> others;
  for (int i = 0; i < 3; ++i) {
    others.push_back(std::make_unique<InterceptedClient>(proxy.port(), target));
    REQUIRE(others.back()->get("/ping").find("pong") != std::string::npos);
    std::this_thread::sleep_for(20ms);
  }
  CHECK(others[0]->closedCleanly(3000ms)); // the bound did act

  std::string response = slow.readResponse(30000ms);
  auto headEnd = response.find("\r\n\r\n");
  REQUIRE(headEnd != std::string::npos);
  CHECK(response.size() - headEnd - 4 == kBody);
}

} // namespace

TEST_CASE("past --max-idle-connections the longest-idle intercepted connections are closed "
          "cleanly and the newest still answer",
          "[idle][tls][integration]") {
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("pong")); });
  TlsFront tls(upstream.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamCaFiles = {tls.caFile()};
    o.maxIdleConnections = 3;
  });
  std::string target = "127.0.0.1:" + std::to_string(tls.port());
  std::vector<std::unique_ptr<InterceptedClient>> clients;
  for (int i = 0; i < 5; ++i) { // one request each, then idle, oldest first
    clients.push_back(std::make_unique<InterceptedClient>(proxy.port(), target));
    REQUIRE(clients.back()->get("/ping").find("pong") != std::string::npos);
    std::this_thread::sleep_for(20ms);
  }
  CHECK(clients[0]->closedCleanly(3000ms));
  CHECK(clients[1]->closedCleanly(3000ms));
  for (int i = 2; i < 5; ++i) {
    CHECK(clients[i]->get("/ping").find("pong") != std::string::npos);
  }
  std::string text = metrics(proxy.port());
  CHECK(text.find("\nregcache_idle_connections_closed_total 2\n") != std::string::npos);
  CHECK(text.find("\nregcache_idle_connections 3\n") != std::string::npos);
  CHECK(text.find("\nregcache_idle_connections_limit 3\n") != std::string::npos);
}

TEST_CASE("a slow reader whose response is still being forwarded is never closed as idle",
          "[idle][tls][integration]") {
  slowReaderIsNeverClosed(1 << 20); // the default: upstream paused, the session busy
}

TEST_CASE("a slow reader whose response is queued whole but not yet written is never closed as "
          "idle",
          "[idle][tls][integration]") {
  slowReaderIsNeverClosed(64u << 20);
}

TEST_CASE("a connection that has started its next request is not closed as idle",
          "[idle][integration]") {
  ProxyFixture proxy([](auto &o) { o.maxIdleConnections = 1; });
  auto started = RawSocket::connectTo(proxy.port());
  REQUIRE(ok(healthz(started)));
  started.sendAll("GET /healthz HTTP/1.1\r\nHo"); // half a head: a request in progress
  REQUIRE(idleCountReaches(proxy.port(), 0));
  auto second = RawSocket::connectTo(proxy.port());
  REQUIRE(ok(healthz(second)));
  std::this_thread::sleep_for(100ms);
  auto third = RawSocket::connectTo(proxy.port());
  // Two idle: `second` is the longest idle; `started`, older, is reading a request.
  REQUIRE(ok(healthz(third)));
  CHECK(second.waitClosed(3000ms));
  started.sendAll("st: proxy\r\n\r\n");
  CHECK(ok(started.readResponse(3000ms)));
  CHECK(third.waitClosed(3000ms)); // `started` is idle again, and now the newest
}

TEST_CASE("a connection that has started its next request no longer counts as idle",
          "[idle][integration]") {
  ProxyFixture proxy([](auto &o) { o.maxIdleConnections = 2; });
  auto oldest = RawSocket::connectTo(proxy.port());
  REQUIRE(ok(healthz(oldest)));
  std::this_thread::sleep_for(50ms);
  auto started = RawSocket::connectTo(proxy.port());
  REQUIRE(ok(healthz(started))); // two idle: within the bound
  started.sendAll("GET /healthz HTTP/1.1\r\nHo");
  REQUIRE(idleCountReaches(proxy.port(), 1)); // the proxy has read it: one idle, not two
  auto newest = RawSocket::connectTo(proxy.port());
  REQUIRE(ok(healthz(newest))); // two idle, not three: `oldest` stays
  std::this_thread::sleep_for(200ms);
  CHECK(ok(healthz(oldest)));
  // `started` finishes its request and is idle again: three, and the longest idle goes.
  started.sendAll("st: proxy\r\n\r\n");
  CHECK(ok(started.readResponse(3000ms)));
  CHECK(newest.waitClosed(3000ms));
}

TEST_CASE("a CONNECT tunnel is not cut by the idle bound", "[idle][tunnel][integration]") {
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("pong")); });
  ProxyFixture proxy([](auto &o) {
    o.tunnelPatterns = {"*"};
    o.maxIdleConnections = 1;
  });
  auto tunnel = RawSocket::connectTo(proxy.port());
  std::string target = "127.0.0.1:" + std::to_string(upstream.port());
  tunnel.sendAll(connectRequest(target));
  REQUIRE(ok(tunnel.readUntil(
      [](const std::string &r) { return r.find("\r\n\r\n") != std::string::npos; })));
  tunnel.sendAll(getRequest("/ping", target));
  REQUIRE(tunnel.readResponse(3000ms).find("pong") != std::string::npos);
  std::this_thread::sleep_for(50ms); // the tunnel is silent, older than every idle connection

  std::vector<RawSocket> plain;
  for (int i = 0; i < 3; ++i) {
    plain.push_back(RawSocket::connectTo(proxy.port()));
    REQUIRE(ok(healthz(plain.back())));
    std::this_thread::sleep_for(20ms);
  }
  CHECK(plain[0].waitClosed(3000ms)); // plain keep-alive connections are under the bound too
  CHECK(plain[1].waitClosed(3000ms));
  CHECK(ok(healthz(plain[2])));
  tunnel.sendAll(getRequest("/ping", target));
  CHECK(tunnel.readResponse(3000ms).find("pong") != std::string::npos);
}
