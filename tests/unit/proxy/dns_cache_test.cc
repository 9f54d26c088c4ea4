#include <catch2/catch.hpp>

#include "proxy/net/dns_cache.h"
#include "proxy/net/dns_server_order.h"
#include "proxy/net/inherited_sockets.h"

using namespace std::chrono_literals;
using regcache::proxy::net::DnsCache;
using regcache::proxy::net::DnsServerOrder;
using regcache::proxy::net::inheritedSocketCount;
using regcache::proxy::net::SocketAddress;

namespace {
std::vector<SocketAddress> oneAddress() { return {*SocketAddress::fromIp("10.0.0.7", 0)}; }
} // namespace

TEST_CASE("a DNS answer is kept for its TTL, capped, whatever the name's case", "[dns]") {
  DnsCache cache(300s, 10s);
  auto t0 = DnsCache::Clock::now();
  cache.storeAddresses("Registry.Test.", oneAddress(), 30s, t0);
  auto hit = cache.find("registry.test", t0 + 29s);
  REQUIRE(hit);
  CHECK(hit->addresses.size() == 1);
  CHECK(hit->failure.empty());
  CHECK_FALSE(cache.find("registry.test", t0 + 30s));

  cache.storeAddresses("long.test", oneAddress(), 86400s, t0);
  CHECK(cache.find("long.test", t0 + 299s));
  CHECK_FALSE(cache.find("long.test", t0 + 300s));
}

TEST_CASE("a zero TTL or a zero cap keeps nothing", "[dns]") {
  auto t0 = DnsCache::Clock::now();
  DnsCache cache(300s, 10s);
  cache.storeAddresses("zero.test", oneAddress(), 0s, t0);
  CHECK_FALSE(cache.find("zero.test", t0));
  DnsCache off(0s, 0s);
  off.storeAddresses("a.test", oneAddress(), 60s, t0);
  off.storeMissing("b.test", "A: Domain name not found", t0);
  CHECK(off.size() == 0);
}

TEST_CASE("a missing name is remembered for the negative TTL", "[dns]") {
  DnsCache cache(300s, 10s);
  auto t0 = DnsCache::Clock::now();
  cache.storeMissing("nope.test", "A: Domain name not found", t0);
  auto hit = cache.find("nope.test", t0 + 9s);
  REQUIRE(hit);
  CHECK(hit->addresses.empty());
  CHECK(hit->failure == "A: Domain name not found");
  CHECK_FALSE(cache.find("nope.test", t0 + 10s));
}

TEST_CASE("the DNS cache never grows past its capacity", "[dns]") {
  DnsCache cache(300s, 10s, 3);
  auto t0 = DnsCache::Clock::now();
  for (int i = 0; i < 50; ++i)
    cache.storeAddresses("host" + std::to_string(i) + ".test", oneAddress(), 60s, t0);
  CHECK(cache.size() == 3);
  CHECK(cache.find("host49.test", t0)); // the newest is always kept
}

TEST_CASE("a server that timed out moves behind the others once per lookup", "[dns]") {
  DnsServerOrder order({"127.0.0.1:1", "127.0.0.1:2"});
  auto t0 = DnsServerOrder::Clock::now();
  CHECK(order.current() == "127.0.0.1:1,127.0.0.1:2");
  CHECK_FALSE(order.onQueryDone(0, order.generation(), t0)); // no timeout: nothing moves
  auto started = order.generation();
  auto moved = order.onQueryDone(1, started, t0); // the AAAA query
  REQUIRE(moved);
  CHECK(*moved == "127.0.0.1:2,127.0.0.1:1");
  CHECK_FALSE(order.onQueryDone(1, started, t0)); // the A query of the same lookup
  CHECK(order.current() == "127.0.0.1:2,127.0.0.1:1");
}

TEST_CASE("the configured server order comes back after the retry interval", "[dns]") {
  DnsServerOrder order({"a", "b", "c"});
  auto t0 = DnsServerOrder::Clock::now();
  REQUIRE(order.onQueryDone(2, order.generation(), t0));
  CHECK_FALSE(order.beforeLookup(t0 + DnsServerOrder::kRetryAfter - 1s));
  auto back = order.beforeLookup(t0 + DnsServerOrder::kRetryAfter);
  REQUIRE(back);
  CHECK(*back == "a,b,c");
  CHECK_FALSE(order.beforeLookup(t0 + 2 * DnsServerOrder::kRetryAfter));
}

TEST_CASE("a single DNS server is never reordered", "[dns]") {
  DnsServerOrder order({"a"});
  CHECK_FALSE(order.onQueryDone(3, order.generation(), DnsServerOrder::Clock::now()));
}

TEST_CASE("LISTEN_FDS counts sockets only for the process LISTEN_PID names", "[net]") {
  CHECK(inheritedSocketCount(nullptr, nullptr, 42).value() == 0);
  CHECK(inheritedSocketCount("42", "2", 42).value() == 2);
  CHECK(inheritedSocketCount("41", "2", 42).value() == 0); // meant for our parent
  CHECK_FALSE(inheritedSocketCount("42", "two", 42).ok());
  CHECK_FALSE(inheritedSocketCount("42", nullptr, 42).ok());
  CHECK_FALSE(inheritedSocketCount("42", "-1", 42).ok());
  CHECK_FALSE(inheritedSocketCount("42", "100000", 42).ok());
  CHECK_FALSE(inheritedSocketCount("x42", "1", 42).ok());
}
