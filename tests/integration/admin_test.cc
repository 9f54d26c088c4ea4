#include <catch2/catch.hpp>

#include <unistd.h>

#include "proxy_fixture.h"
#include "raw_socket.h"

using namespace regcache::test;

namespace {
std::string headerValue(const std::string &response, const std::string &name) {
  auto pos = response.find("\r\n" + name + ": ");
  if (pos == std::string::npos) return {};
  pos += name.size() + 4;
  return response.substr(pos, response.find("\r\n", pos) - pos);
}
} // namespace

TEST_CASE("GET /healthz answers ok", "[admin]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string response = client.readResponse();
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("\r\n\r\nok\n") != std::string::npos);
}

TEST_CASE("GET /ca.crt serves the PEM bundle with an ETag that If-None-Match honours", "[admin]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string response = client.readResponse();
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("-----BEGIN CERTIFICATE-----") != std::string::npos);
  std::string etag = headerValue(response, "ETag");
  REQUIRE(etag.size() > 2);

  client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: proxy\r\nIf-None-Match: " + etag + "\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 304", 0) == 0);
}

TEST_CASE("the CA survives a restart: the same root is served afterwards", "[admin]") {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("regcache-it-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto fetch = [&] {
    // Each server is stopped (its threads joined) before the next starts or the files go.
    ProxyFixture proxy([&](auto &o) { o.dataDir = dir; });
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: proxy\r\n\r\n");
    std::string response = client.readResponse();
    return response.substr(response.find("\r\n\r\n"));
  };
  std::string first = fetch();
  std::string second = fetch();
  std::filesystem::remove_all(dir);
  REQUIRE(first.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(first == second);
}

TEST_CASE("unknown proxy paths get a 404", "[admin]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /nope HTTP/1.1\r\nHost: proxy\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 404", 0) == 0);
}
