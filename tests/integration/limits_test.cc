#include <catch2/catch.hpp>

#include "proxy_fixture.h"
#include "raw_socket.h"

using namespace regcache::test;

TEST_CASE("a malformed request gets a 400 and the connection is closed", "[limits]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
  std::string response = client.readResponse();
  CHECK(response.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(client.waitClosed());
}

TEST_CASE("garbage instead of HTTP gets a 400", "[limits]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("headers larger than the limit get a 431", "[limits]") {
  ProxyFixture proxy([](auto &o) { o.limits.maxHeaderBytes = 4096; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(8000, 'a') +
                 "\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 431", 0) == 0);
}

TEST_CASE("more headers than the limit get a 431", "[limits]") {
  ProxyFixture proxy([](auto &o) { o.limits.maxHeaderCount = 10; });
  auto client = RawSocket::connectTo(proxy.port());
  std::string request = "GET /healthz HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 20; ++i)
    request += "X-H" + std::to_string(i) + ": v\r\n";
  client.sendAll(request + "\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 431", 0) == 0);
}

TEST_CASE("a request head that never finishes gets a 408", "[limits]") {
  ProxyFixture proxy([](auto &o) { o.headerTimeout = std::chrono::milliseconds(300); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /healthz HTTP/1.1\r\nHo");
  CHECK(client.readResponse(3000ms).rfind("HTTP/1.1 408", 0) == 0);
  CHECK(client.waitClosed());
}

TEST_CASE("an idle connection is closed after the idle timeout", "[limits]") {
  ProxyFixture proxy([](auto &o) { o.idleTimeout = std::chrono::milliseconds(300); });
  auto client = RawSocket::connectTo(proxy.port());
  CHECK(client.waitClosed(3000ms));
}

TEST_CASE("a bad client does not disturb another client", "[limits]") {
  ProxyFixture proxy([](auto &o) { o.workers = 1; });
  auto bad = RawSocket::connectTo(proxy.port());
  auto good = RawSocket::connectTo(proxy.port());
  bad.sendAll("NOT HTTP AT ALL\r\n\r\n");
  good.sendAll("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(good.readResponse().rfind("HTTP/1.1 200", 0) == 0);
  CHECK(bad.readResponse().rfind("HTTP/1.1 400", 0) == 0);
}
