#include <catch2/catch.hpp>

#include "proxy/access/target_policy.h"
#include "proxy/net/cidr.h"

using namespace regcache::proxy;
using net::Cidr;
using net::SocketAddress;

namespace {
SocketAddress at(const std::string &ip, uint16_t port = 443) {
  return *SocketAddress::fromIp(ip, port);
}
TargetPolicy policy(std::vector<std::string> allow = {}, std::vector<std::string> deny = {},
                    std::vector<SocketAddress> own = {}) {
  return TargetPolicy(parseTargetRules(allow), parseTargetRules(deny), std::move(own));
}
} // namespace

TEST_CASE("CIDR ranges parse and match both families", "[policy][cidr]") {
  auto ten = Cidr::parse("10.0.0.0/8");
  REQUIRE(ten);
  CHECK(ten->contains(at("10.200.1.1")));
  CHECK_FALSE(ten->contains(at("11.0.0.1")));
  CHECK(ten->contains(at("::ffff:10.1.2.3"))); // as a dual-stack socket reports IPv4 peers
  auto ula = Cidr::parse("fc00::/7");
  REQUIRE(ula);
  CHECK(ula->contains(at("fd12::1")));
  CHECK_FALSE(ula->contains(at("fe80::1")));
  CHECK_FALSE(ula->contains(at("10.0.0.1")));
  auto odd = Cidr::parse("172.16.0.0/12");
  CHECK(odd->contains(at("172.31.255.255")));
  CHECK_FALSE(odd->contains(at("172.32.0.0")));
  auto host = Cidr::parse("::1");
  CHECK(host->contains(at("::1")));
  CHECK(host->toString() == "::1/128");
  for (const char *bad :
       {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "::/129", "host", "1.2.3.4/x"}) {
    INFO(bad);
    CHECK_FALSE(Cidr::parse(bad));
  }
}

TEST_CASE("target rules: ranges, addresses, hosts, with or without a port", "[policy]") {
  auto range = TargetRule::parse("10.0.0.0/8:5000");
  REQUIRE(range);
  CHECK(range->port == 5000);
  auto v6 = TargetRule::parse("[fd00::/8]:443");
  REQUIRE(v6);
  CHECK(v6->range);
  CHECK(v6->port == 443);
  auto bareV6 = TargetRule::parse("fd00::/8");
  REQUIRE(bareV6);
  CHECK_FALSE(bareV6->port);
  auto host = TargetRule::parse("*.corp.example:8443");
  REQUIRE(host);
  CHECK(host->hostPattern == "*.corp.example");
  for (const char *bad : {"", "host:", "host:0", "host:70000", "[fd00::1", "a b", "10.0.0.0/8:"}) {
    INFO(bad);
    CHECK_FALSE(TargetRule::parse(bad));
  }
  CHECK_THROWS_AS(parseTargetRules({"ok.example", "bad host"}), std::invalid_argument);
}

TEST_CASE("by default only public addresses on 80, 443 and high ports are reached", "[policy]") {
  TargetPolicy p = policy();
  CHECK_FALSE(p.refuseAddress("registry-1.docker.io", at("34.1.2.3", 443)));
  CHECK_FALSE(p.refuseAddress("r", at("34.1.2.3", 80)));
  CHECK_FALSE(p.refuseAddress("r", at("34.1.2.3", 5000)));
  CHECK(p.refuseAddress("r", at("34.1.2.3", 22))->find("port 22") != std::string::npos);
  CHECK(p.refuseAddress("r", at("169.254.169.254", 80))->find("metadata") != std::string::npos);
  CHECK(p.refuseAddress("r", at("fd00:ec2::254", 80))->find("metadata") != std::string::npos);
  CHECK(p.refuseAddress("r", at("169.254.1.1"))->find("link-local") != std::string::npos);
  CHECK(p.refuseAddress("r", at("127.0.0.1"))->find("loopback") != std::string::npos);
  CHECK(p.refuseAddress("r", at("::ffff:127.0.0.1"))->find("loopback") != std::string::npos);
  for (const char *ip : {"10.1.1.1", "172.20.0.1", "192.168.1.1", "100.64.0.1", "fd00::1",
                         "0.0.0.0", "::", "224.0.0.1", "ff02::1"}) {
    INFO(ip);
    CHECK(p.refuseAddress("r", at(ip)));
  }
}

TEST_CASE("allow rules open, deny rules close, and deny wins", "[policy]") {
  TargetPolicy p =
      policy({"10.0.0.0/8", "registry.lan", "34.1.2.3:22"}, {"10.9.0.0/16", "bad.example"});
  CHECK_FALSE(p.refuseAddress("x", at("10.1.1.1", 5000)));
  CHECK(p.refuseAddress("x", at("10.9.1.1", 5000))->find("--deny-target") != std::string::npos);
  CHECK_FALSE(p.refuseAddress("registry.lan", at("192.168.1.5", 443))); // allowed by name
  CHECK(p.refuseAddress("other.lan", at("192.168.1.5", 443)));
  CHECK_FALSE(p.refuseAddress("x", at("34.1.2.3", 22)));
  CHECK(p.refuseAddress("x", at("34.1.2.4", 22)));
  CHECK(p.refuseName("bad.example", 443));
  CHECK_FALSE(p.refuseName("good.example", 443));
}

TEST_CASE("the proxy never connects to itself", "[policy]") {
  TargetPolicy bound = policy({"127.0.0.0/8"}, {}, {at("127.0.0.1", 3128)});
  CHECK(bound.refuseAddress("x", at("127.0.0.1", 3128))->find("own") != std::string::npos);
  CHECK_FALSE(bound.refuseAddress("x", at("127.0.0.1", 3129)));
  TargetPolicy wildcard = policy({"10.0.0.0/8"}, {}, {at("0.0.0.0", 3128)});
  CHECK(wildcard.refuseAddress("x", at("10.0.0.5", 3128)));
  CHECK_FALSE(wildcard.refuseAddress("x", at("34.1.2.3", 3128)));
}

TEST_CASE("IPv6 addresses that lead to an IPv4 one are judged by that IPv4 address",
          "[policy][cidr]") {
  auto nat64 = net::embeddedIpv4(at("64:ff9b::7f00:1", 8443));
  REQUIRE(nat64);
  CHECK(nat64->address.ipString() == "127.0.0.1");
  CHECK(nat64->address.port() == 8443);
  CHECK(net::embeddedIpv4(at("2002:a9fe:a9fe::1"))->address.ipString() == "169.254.169.254");
  CHECK(net::embeddedIpv4(at("::10.1.2.3"))->address.ipString() == "10.1.2.3");
  CHECK(net::embeddedIpv4(at("::ffff:0:10.1.2.3"))->address.ipString() == "10.1.2.3");
  CHECK_FALSE(net::embeddedIpv4(at("::1")));
  CHECK_FALSE(net::embeddedIpv4(at("2600::1")));
  CHECK_FALSE(net::embeddedIpv4(at("10.1.2.3")));

  TargetPolicy p = policy();
  CHECK(p.refuseAddress("r", at("64:ff9b::7f00:1"))->find("loopback") != std::string::npos);
  CHECK(p.refuseAddress("r", at("64:ff9b::a9fe:a9fe"))->find("metadata") != std::string::npos);
  CHECK(p.refuseAddress("r", at("64:ff9b::a00:1"))->find("NAT64 of 10.0.0.1") != std::string::npos);
  CHECK(p.refuseAddress("r", at("2002:7f00:1::"))->find("loopback") != std::string::npos);
  CHECK(p.refuseAddress("r", at("2002:c0a8:101::1"))->find("private") != std::string::npos);
  CHECK(p.refuseAddress("r", at("::ffff:169.254.169.254"))->find("metadata") != std::string::npos);
  CHECK(p.refuseAddress("r", at("::127.0.0.1"))->find("loopback") != std::string::npos);
  CHECK(p.refuseAddress("r", at("2001:0:4136:e378:8000:63bf:3fff:fdd2"))->find("Teredo") !=
        std::string::npos);
  CHECK(p.refuseAddress("r", at("168.63.129.16", 80))->find("metadata") != std::string::npos);
  CHECK(p.refuseAddress("r", at("64:ff9b::a83f:8110", 80))->find("metadata") != std::string::npos);
  // The public IPv4 behind a NAT64 or 6to4 address is reached as usual.
  CHECK_FALSE(p.refuseAddress("r", at("64:ff9b::2201:203")));
  CHECK_FALSE(p.refuseAddress("r", at("2002:2201:203::1")));
  CHECK(p.refuseAddress("r", at("64:ff9b::2201:203", 22))->find("port 22") != std::string::npos);
}

TEST_CASE("rules apply to an embedded IPv4 address as to the address itself", "[policy]") {
  TargetPolicy allowV4 = policy({"10.0.0.0/8"}, {"34.1.2.3"});
  CHECK_FALSE(allowV4.refuseAddress("r", at("64:ff9b::a01:101")));
  CHECK(allowV4.refuseAddress("r", at("64:ff9b::2201:203"))->find("--deny-target") !=
        std::string::npos);
  TargetPolicy allowPrefix = policy({"64:ff9b::/96"});
  CHECK_FALSE(allowPrefix.refuseAddress("r", at("64:ff9b::a01:101")));
  TargetPolicy own = policy({"127.0.0.0/8"}, {}, {at("127.0.0.1", 3128)});
  CHECK(own.refuseAddress("r", at("64:ff9b::7f00:1", 3128))->find("own") != std::string::npos);
}

TEST_CASE("through a parent proxy, names are judged without resolving", "[policy][parent]") {
  TargetPolicy p = policy({"registry.lan:22", "*.lab.example"}, {"*.corp.example"});
  CHECK_FALSE(p.refuseUnresolved("registry-1.docker.io", 443));
  CHECK_FALSE(p.refuseUnresolved("registry.example", 5000));
  CHECK(p.refuseUnresolved("git.corp.example", 443));  // --deny-target by name
  CHECK(p.refuseUnresolved("localhost", 443));         // the parent's own loopback
  CHECK(p.refuseUnresolved("api.LOCALHOST.", 443));    // RFC 6761: all of .localhost
  CHECK(p.refuseUnresolved("registry.example", 22));   // the port rule still holds
  CHECK_FALSE(p.refuseUnresolved("registry.lan", 22)); // ... unless a host rule opens it
  CHECK(p.refuseUnresolved("registry.lan", 25));
  CHECK_FALSE(p.refuseUnresolved("x.lab.example", 25));
  CHECK_FALSE(p.refuseUnresolved("notlocalhost", 443));
}
