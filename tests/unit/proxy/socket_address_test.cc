#include <catch2/catch.hpp>

#include <sys/socket.h>

#include "proxy/net/resolver.h"
#include "proxy/net/socket_address.h"

using regcache::proxy::net::isIpLiteral;
using regcache::proxy::net::SocketAddress;

TEST_CASE("socket addresses parse and print IPv4 and IPv6 literals", "[net]") {
  auto v4 = SocketAddress::fromIp("127.0.0.1", 3128);
  REQUIRE(v4);
  CHECK(v4->family() == AF_INET);
  CHECK(v4->toString() == "127.0.0.1:3128");
  auto v6 = SocketAddress::fromIp("::1", 443);
  REQUIRE(v6);
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->toString() == "[::1]:443");
  CHECK(v6->ipString() == "::1");
}

TEST_CASE("names are not IP literals", "[net]") {
  CHECK_FALSE(SocketAddress::fromIp("registry.test", 80));
  CHECK_FALSE(isIpLiteral("[::1]"));
  CHECK(isIpLiteral("10.0.0.1"));
  CHECK(isIpLiteral("fe80::1"));
}

TEST_CASE("localhost names are recognised without DNS", "[resolver]") {
  using regcache::proxy::net::isLocalhostName;
  CHECK(isLocalhostName("localhost"));
  CHECK(isLocalhostName("LocalHost."));
  CHECK(isLocalhostName("registry.localhost"));
  CHECK_FALSE(isLocalhostName("localhost.example"));
  CHECK_FALSE(isLocalhostName("notlocalhost"));
  CHECK_FALSE(isLocalhostName(".localhost"));
}
