#include <catch2/catch.hpp>

#include "proxy/http/target.h"

using namespace regcache::proxy::http;

TEST_CASE("CONNECT targets parse names, IPv4 and bracketed IPv6", "[http][target]") {
  auto name = parseConnectTarget("Registry-1.Docker.IO:443");
  REQUIRE(name.ok());
  CHECK(name->host == "registry-1.docker.io");
  CHECK(name->port == 443);
  CHECK_FALSE(name->ipv6Literal);
  auto v4 = parseConnectTarget("10.1.2.3:5000");
  REQUIRE(v4.ok());
  CHECK(v4->host == "10.1.2.3");
  auto v6 = parseConnectTarget("[::1]:8443");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->ipv6Literal);
  CHECK(v6->port == 8443);
}

TEST_CASE("bad CONNECT targets are rejected", "[http][target]") {
  for (const char *bad :
       {"", "host", "host:", ":443", "host:0", "host:65536", "host:12a", "user@host:443",
        "host/path:443", "[::1]", "[::1]443", "[nothex]:1", "ho st:443", "host:443:1"}) {
    INFO(bad);
    CHECK_FALSE(parseConnectTarget(bad).ok());
  }
}

TEST_CASE("absolute URLs split into scheme, authority and path", "[http][target]") {
  auto u = parseAbsoluteUrl("HTTP://Example.com/v2/?last=1#frag");
  REQUIRE(u.ok());
  CHECK(u->scheme == "http");
  CHECK(u->authority.host == "example.com");
  CHECK(u->authority.port == 80);
  CHECK(u->pathAndQuery == "/v2/?last=1");
  auto s = parseAbsoluteUrl("https://[::1]:5000");
  REQUIRE(s.ok());
  CHECK(s->authority.port == 5000);
  CHECK(s->pathAndQuery == "/");
  auto q = parseAbsoluteUrl("http://h?x=1");
  REQUIRE(q.ok());
  CHECK(q->pathAndQuery == "/?x=1");
  CHECK_FALSE(parseAbsoluteUrl("/relative").ok());
  CHECK_FALSE(parseAbsoluteUrl("http://").ok());
  CHECK_FALSE(parseAbsoluteUrl("http://u:p@h/").ok());
}

TEST_CASE("authorities format with brackets and without default ports", "[http][target]") {
  CHECK(formatAuthority({"registry.test", 443, false}, 443) == "registry.test");
  CHECK(formatAuthority({"registry.test", 5000, false}, 443) == "registry.test:5000");
  CHECK(formatAuthority({"::1", 443, true}) == "[::1]:443");
}

TEST_CASE("a registry reached in the clear is keyed apart from the TLS one on its host and port",
          "[http][target]") {
  CHECK(registryKey({"registry.test", 443, false}, true) == "registry.test");
  CHECK(registryKey({"registry.test", 80, false}, false) == "http://registry.test");
  CHECK(registryKey({"registry.test", 5000, false}, true) == "registry.test:5000");
  CHECK(registryKey({"registry.test", 5000, false}, false) == "http://registry.test:5000");
  CHECK(registryKey({"::1", 443, true}, false) == "http://[::1]:443");
}

TEST_CASE("Host fields parse with or without a port", "[http][target]") {
  auto bare = parseHostField(" Registry.Test ");
  REQUIRE(bare.ok());
  CHECK(bare->host == "registry.test");
  CHECK(bare->port == 0);
  auto withPort = parseHostField("[::1]:5000");
  REQUIRE(withPort.ok());
  CHECK(withPort->host == "::1");
  CHECK(withPort->port == 5000);
  CHECK_FALSE(parseHostField("a@b.test").ok());
  CHECK_FALSE(parseHostField("b.test/x").ok());
  CHECK_FALSE(parseHostField("b.test:99999").ok());
  CHECK_FALSE(parseHostField("").ok());
}
