#include <catch2/catch.hpp>

#include "base/base64.h"
#include "proxy/net/parent_proxy.h"

using namespace regcache::proxy::net;

TEST_CASE("parent proxy URL: host and port, no credentials", "[parent_proxy]") {
  auto parent = parseParentProxyUrl("http://Proxy.Corp.example:3128/");
  REQUIRE(parent.ok());
  CHECK(parent->host == "proxy.corp.example");
  CHECK(parent->port == 3128);
  CHECK(parent->authorization.empty());
  CHECK(parent->display() == "proxy.corp.example:3128");
  auto v6 = parseParentProxyUrl("HTTP://[::1]:8080");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->display() == "[::1]:8080");
}

TEST_CASE("parent proxy URL: percent-encoded credentials become Basic", "[parent_proxy]") {
  auto parent = parseParentProxyUrl("http://ci%40corp:p%3Ass@word@10.0.0.5:3128");
  REQUIRE(parent.ok());
  CHECK(parent->host == "10.0.0.5");
  CHECK(parent->authorization == "Basic " + regcache::encodeBase64("ci@corp:p:ss@word"));
  CHECK(parent->display().find("ss") == std::string::npos); // never the password
}

TEST_CASE("parent proxy URL: what is refused", "[parent_proxy]") {
  for (const char *bad :
       {"", "proxy:3128", "https://proxy:3128", "socks5://proxy:1080", "http://proxy",
        "http://proxy:", "http://proxy:0", "http://proxy:65536", "http://proxy:3128/path",
        "http://:3128", "http://[::1:3128", "http://[::1]", "http://a b:3128",
        "http://u%zz:p@proxy:3128", "http://:p@proxy:3128", "http://u%0a:p@proxy:3128"}) {
    INFO(bad);
    auto parent = parseParentProxyUrl(bad);
    CHECK_FALSE(parent.ok());
  }
  auto secret = parseParentProxyUrl("http://user:hunter2@proxy:bad");
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.failure().detail.find("hunter2") == std::string::npos);
}

TEST_CASE("the CONNECT request names the origin, with Proxy-Authorization when set",
          "[parent_proxy]") {
  auto parent = parseParentProxyUrl("http://u:p@proxy:3128");
  REQUIRE(parent.ok());
  CHECK(connectRequest(*parent, "registry-1.docker.io", 443) ==
        "CONNECT registry-1.docker.io:443 HTTP/1.1\r\nHost: registry-1.docker.io:443\r\n"
        "Proxy-Authorization: Basic dTpw\r\n\r\n");
  parent->authorization.clear();
  CHECK(connectRequest(*parent, "fd00::5", 5000) ==
        "CONNECT [fd00::5]:5000 HTTP/1.1\r\nHost: [fd00::5]:5000\r\n\r\n");
}
