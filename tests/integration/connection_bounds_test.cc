// Bounds on what one client can hold: an idle tunnel, connections per client address, and new
// leaves minted per client address (issue #9 item 14). Every wait is bounded.
#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <thread>

#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;

namespace {

std::string connectRequest(const std::string &target) {
  return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
}

bool established(RawSocket &client) {
  std::string reply = client.readUntil(
      [](const std::string &r) { return r.find("\r\n\r\n") != std::string::npos; });
  return reply.rfind("HTTP/1.1 200", 0) == 0;
}

// A TLS handshake with `sni` over an established CONNECT; true when it completes. The
// certificate is not verified: only whether the proxy had a leaf to offer matters here.
bool handshake(RawSocket &client, const std::string &sni) {
  timeval tv{3, 0}; // SSL_connect below blocks at most this long per read
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, client.fd());
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  ERR_clear_error();
  bool ok = SSL_connect(ssl) == 1;
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

// CONNECT to a loopback target (the fixture allows it), then a handshake naming `sni`.
bool interceptedHandshake(uint16_t proxyPort, const std::string &sni, const char *from) {
  auto client = RawSocket::connectTo(proxyPort, from);
  client.sendAll(connectRequest("127.0.0.1:443"));
  if (!established(client)) return false;
  return handshake(client, sni);
}

// The per-address tests connect from addresses no other test uses: any connection from 127.0.0.1
// (a proxy in a test running in parallel retrying a port this proxy has since been given) would
// count against the limit and refuse the first request.
constexpr const char *kCounted = "127.0.0.71";
constexpr const char *kOther = "127.0.0.72";

std::string healthz(RawSocket &client) {
  client.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  return client.readResponse(3000ms);
}

} // namespace

TEST_CASE("a tunnel with no bytes either way is closed after --tunnel-idle-timeout",
          "[limits][tunnel][integration]") {
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("pong")); });
  ProxyFixture proxy([](auto &o) {
    o.tunnelPatterns = {"*"};
    o.tunnelIdleTimeout = std::chrono::milliseconds(400);
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(connectRequest("127.0.0.1:" + std::to_string(upstream.port())));
  REQUIRE(established(client));
  // Traffic keeps it open past the timeout: five round trips 150 ms apart.
  for (int i = 0; i < 5; ++i) {
    if (i > 0) std::this_thread::sleep_for(150ms);
    client.sendAll("GET /ping HTTP/1.1\r\nHost: up\r\n\r\n");
    REQUIRE(client.readResponse(2000ms).find("pong") != std::string::npos);
  }
  // Then silence: the proxy closes it.
  auto silentSince = std::chrono::steady_clock::now();
  CHECK(client.waitClosed(3000ms));
  CHECK(std::chrono::steady_clock::now() - silentSince >= 300ms);
}

TEST_CASE("past --max-connections-per-client an address gets a 503 or a close, others do not",
          "[limits][integration]") {
  ProxyFixture proxy([](auto &o) { o.maxConnectionsPerClient = 2; });
  auto first = RawSocket::connectTo(proxy.port(), kCounted);
  auto second = RawSocket::connectTo(proxy.port(), kCounted);
  CHECK(healthz(first).rfind("HTTP/1.1 200", 0) == 0);
  CHECK(healthz(second).rfind("HTTP/1.1 200", 0) == 0);

  auto third = RawSocket::connectTo(proxy.port(), kCounted);
  std::string refused = healthz(third);
  CHECK(refused.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(refused.find("too many connections") != std::string::npos);
  CHECK(third.waitClosed(2000ms));

  auto tunnel = RawSocket::connectTo(proxy.port(), kCounted);
  tunnel.sendAll(connectRequest("127.0.0.1:443"));
  CHECK(tunnel.readAll(2000ms).empty()); // closed without an answer
  third.close();
  tunnel.close();

  // Another address is not affected.
  auto other = RawSocket::connectTo(proxy.port(), kOther);
  CHECK(healthz(other).rfind("HTTP/1.1 200", 0) == 0);

  // Once one of the first two is gone, the address may connect again.
  first.close();
  bool admitted = false;
  for (int i = 0; i < 20 && !admitted; ++i) { // at most 2 s
    std::this_thread::sleep_for(100ms);
    auto again = RawSocket::connectTo(proxy.port(), kCounted);
    admitted = healthz(again).rfind("HTTP/1.1 200", 0) == 0;
  }
  CHECK(admitted);
}

TEST_CASE("far past --max-connections-per-client a connection is closed before it is read",
          "[limits][integration]") {
  ProxyFixture proxy([](auto &o) {
    o.maxConnectionsPerClient = 1;
    o.workers = 1; // one accept queue: connections are counted in the order they were made
  });
  auto first = RawSocket::connectTo(proxy.port(), kCounted);
  CHECK(healthz(first).rfind("HTTP/1.1 200", 0) == 0);
  auto over = RawSocket::connectTo(proxy.port(), kCounted); // answered 503 once it asks
  auto excess = RawSocket::connectTo(proxy.port(), kCounted);
  CHECK(excess.waitClosed(2000ms)); // without sending anything
  CHECK(healthz(over).rfind("HTTP/1.1 503", 0) == 0);
}

TEST_CASE("a flood of made-up SNI names stops minting, while cached leaves still handshake",
          "[limits][tls][integration]") {
  ProxyFixture proxy([](auto &o) { o.mintsPerClientPerMinute = 3; });
  REQUIRE(interceptedHandshake(proxy.port(), "registry.test", "127.0.0.1"));
  int minted = 0;
  for (int i = 0; i < 6; ++i) {
    if (interceptedHandshake(proxy.port(), "flood" + std::to_string(i) + ".test", "127.0.0.1")) {
      ++minted;
    }
  }
  CHECK(minted == 2); // the burst of 3, less the legitimate leaf's
  // The leaf minted before the flood is cached and served; another client still gets new ones.
  CHECK(interceptedHandshake(proxy.port(), "registry.test", "127.0.0.1"));
  CHECK(interceptedHandshake(proxy.port(), "other.test", "127.0.0.2"));
  CHECK_FALSE(interceptedHandshake(proxy.port(), "flood9.test", "127.0.0.1"));
}

TEST_CASE("an idle intercepted keep-alive connection whose client has gone is released at once",
          "[limits][tls][integration]") {
  // One connection per address and a long idle timeout: the address may connect again only once
  // the proxy has noticed that the first client closed its socket.
  constexpr const char *kAddress = "127.0.0.73";
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("pong")); });
  TlsFront tls(upstream.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamCaFiles = {tls.caFile()};
    o.maxConnectionsPerClient = 1;
    o.idleTimeout = std::chrono::seconds(30);
  });
  std::string target = "127.0.0.1:" + std::to_string(tls.port());
  {
    auto client = RawSocket::connectTo(proxy.port(), kAddress);
    client.sendAll(connectRequest(target));
    REQUIRE(established(client));
    timeval tv{3, 0}; // every SSL call below blocks at most this long per read
    setsockopt(client.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, client.fd());
    SSL_set_tlsext_host_name(ssl, "registry.test");
    REQUIRE(SSL_connect(ssl) == 1);
    std::string request = "GET /ping HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
    REQUIRE(SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0);
    std::string response;
    char buf[4096];
    for (int i = 0; i < 10 && response.find("pong") == std::string::npos; ++i) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
    SSL_free(ssl); // no close_notify: the client just goes, as a killed process does
    SSL_CTX_free(ctx);
    ERR_clear_error();
    REQUIRE(response.find("pong") != std::string::npos);
    // The connection is now idle and kept alive; the client closes its socket here.
  }
  bool admitted = false;
  auto gone = std::chrono::steady_clock::now();
  for (int i = 0; i < 20 && !admitted; ++i) { // at most 2 s, far below the idle timeout
    std::this_thread::sleep_for(100ms);
    auto again = RawSocket::connectTo(proxy.port(), kAddress);
    admitted = healthz(again).rfind("HTTP/1.1 200", 0) == 0;
  }
  CHECK(admitted);
  CHECK(std::chrono::steady_clock::now() - gone < 5s);
}
