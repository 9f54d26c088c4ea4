#include <catch2/catch.hpp>

#include "proxy/net/no_proxy.h"

using regcache::proxy::net::NoProxyList;

namespace {
NoProxyList list(std::vector<std::string> texts) {
  auto parsed = NoProxyList::parse(texts);
  REQUIRE(parsed.ok());
  return parsed.value();
}
} // namespace

TEST_CASE("no-proxy: a name covers itself and the names under it", "[no_proxy]") {
  NoProxyList l = list({"registry.lan"});
  CHECK(l.covers("registry.lan", 443));
  CHECK(l.covers("REGISTRY.lan.", 5000)); // case and a trailing dot do not matter
  CHECK(l.covers("eu.registry.lan", 443));
  CHECK_FALSE(l.covers("myregistry.lan", 443)); // a suffix of letters is not a domain
  CHECK_FALSE(l.covers("registry.lan.example", 443));
  CHECK_FALSE(l.covers("lan", 443));
}

TEST_CASE("no-proxy: .domain and *.domain cover the names under it only", "[no_proxy]") {
  for (const char *entry : {".corp.example", "*.corp.example"}) {
    INFO(entry);
    NoProxyList l = list({entry});
    CHECK(l.covers("git.corp.example", 443));
    CHECK(l.covers("a.b.corp.example", 443));
    CHECK_FALSE(l.covers("corp.example", 443));
    CHECK_FALSE(l.covers("evilcorp.example", 443));
  }
}

TEST_CASE("no-proxy: IP literals and CIDRs match origins named by a literal", "[no_proxy]") {
  NoProxyList l = list({"10.0.0.0/8, 192.168.1.7", "fd00::/8,::1"});
  CHECK(l.covers("10.20.30.40", 443));
  CHECK(l.covers("192.168.1.7", 5000));
  CHECK_FALSE(l.covers("192.168.1.8", 5000));
  CHECK(l.covers("fd12::1", 443));
  CHECK(l.covers("::1", 443));
  CHECK(l.covers("::ffff:10.1.1.1", 443)); // IPv4-mapped is the IPv4 address
  CHECK_FALSE(l.covers("11.0.0.1", 443));
  // Names are never resolved to match an address rule.
  CHECK_FALSE(l.covers("localhost", 443));
  CHECK_FALSE(l.covers("ten.example", 443));
}

TEST_CASE("no-proxy: a port narrows an entry to that port", "[no_proxy]") {
  NoProxyList l = list({"registry.lan:5000,10.1.2.3:443,[fd00::1]:8443"});
  CHECK(l.covers("registry.lan", 5000));
  CHECK_FALSE(l.covers("registry.lan", 443));
  CHECK(l.covers("10.1.2.3", 443));
  CHECK_FALSE(l.covers("10.1.2.3", 80));
  CHECK(l.covers("fd00::1", 8443));
  CHECK_FALSE(l.covers("fd00::1", 443));
}

TEST_CASE("no-proxy: * covers every host; an empty list none", "[no_proxy]") {
  NoProxyList all = list({"registry.lan", "*"});
  CHECK(all.covers("docker.io", 443));
  CHECK(all.covers("1.2.3.4", 80));
  CHECK_FALSE(all.empty());
  NoProxyList none = list({"", " , ,"});
  CHECK(none.empty());
  CHECK_FALSE(none.covers("docker.io", 443));
}

TEST_CASE("no-proxy: malformed entries are refused, naming the entry", "[no_proxy]") {
  for (const char *bad : {"a b", "host:", "host:0", "host:70000", "[fd00::1", "[fd00::1]x",
                          "10.0.0.0/33", "*.", ".", "a/b", "http://proxy", "*x.example"}) {
    INFO(bad);
    auto parsed = NoProxyList::parse({std::string("ok.example,") + bad});
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.failure().detail.find(bad) != std::string::npos);
  }
}
