#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "ca/authority.h"
#include "ca/leaf_cache.h"
#include "temp_dir.h"

using namespace regcache;
using regcache::test::TempDir;

namespace {

std::shared_ptr<const ca::Authority> makeAuthority(const std::filesystem::path &dir) {
  auto authority = ca::Authority::create(dir, SystemClock::instance());
  REQUIRE(authority.ok());
  return authority.value();
}

} // namespace

TEST_CASE("the leaf cache returns the same leaf for the same host", "[ca][leafcache]") {
  TempDir dir;
  ca::LeafCache cache(makeAuthority(dir.path() / "ca"), SystemClock::instance(), 8);
  auto first = cache.get("registry.test");
  auto second = cache.get("REGISTRY.test.");
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first.value().get() == second.value().get());
  CHECK(cache.mintCount() == 1);
}

TEST_CASE("the leaf cache evicts beyond its capacity", "[ca][leafcache]") {
  TempDir dir;
  ca::LeafCache cache(makeAuthority(dir.path() / "ca"), SystemClock::instance(), 2);
  REQUIRE(cache.get("a.test").ok());
  REQUIRE(cache.get("b.test").ok());
  REQUIRE(cache.get("c.test").ok());
  CHECK(cache.size() == 2);
  REQUIRE(cache.get("a.test").ok()); // evicted, minted again
  CHECK(cache.mintCount() == 4);
}

TEST_CASE("a leaf near its expiry is minted again", "[ca][leafcache]") {
  TempDir dir;
  ManualClock clock(std::chrono::system_clock::now());
  ca::MintOptions options;
  options.validity = std::chrono::hours(24 * 4);
  ca::LeafCache cache(makeAuthority(dir.path() / "ca"), clock, 8, options);
  auto first = cache.get("a.test");
  REQUIRE(first.ok());
  clock.advance(std::chrono::hours(24 * 2));
  CHECK(cache.get("a.test").value().get() == first.value().get());
  clock.advance(std::chrono::hours(24 + 12)); // a quarter of the validity is left: renew
  auto renewed = cache.get("a.test");
  REQUIRE(renewed.ok());
  CHECK(renewed.value().get() != first.value().get());
  CHECK(cache.mintCount() == 2);
}

TEST_CASE("concurrent requests for one host collapse into one mint", "[ca][leafcache]") {
  TempDir dir;
  ca::LeafCache cache(makeAuthority(dir.path() / "ca"), SystemClock::instance(), 8);
  std::vector<std::thread> threads;
  std::vector<const ca::Leaf *> seen(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto leaf = cache.get("same.test");
      seen[i] = leaf.ok() ? leaf.value().get() : nullptr;
    });
  }
  for (auto &t : threads)
    t.join();
  CHECK(cache.mintCount() == 1);
  for (const auto *leaf : seen)
    CHECK(leaf == seen[0]);
  CHECK(seen[0] != nullptr);
}

TEST_CASE("switching authority flushes the cached leaves", "[ca][leafcache]") {
  TempDir dir;
  auto first = makeAuthority(dir.path() / "ca1");
  auto second = makeAuthority(dir.path() / "ca2");
  ca::LeafCache cache(first, SystemClock::instance(), 8);
  auto before = cache.get("a.test");
  REQUIRE(before.ok());
  cache.setAuthority(second);
  CHECK(cache.size() == 0);
  auto after = cache.get("a.test");
  REQUIRE(after.ok());
  CHECK(X509_check_issued(second->signingCert(), after.value()->cert.get()) == X509_V_OK);
  CHECK(cache.authority() == second);
}

TEST_CASE("the leaf cache refuses invalid hosts without minting", "[ca][leafcache]") {
  TempDir dir;
  ca::LeafCache cache(makeAuthority(dir.path() / "ca"), SystemClock::instance(), 8);
  CHECK_FALSE(cache.get("not a host").ok());
  CHECK(cache.mintCount() == 0);
}

TEST_CASE("the leaf cache asks before minting, never for a cached leaf", "[ca][limits]") {
  TempDir dir;
  ca::LeafCache cache(makeAuthority(dir.path() / "ca"), SystemClock::instance(), 8);
  int asked = 0;
  auto allowOnce = [&asked] { return ++asked == 1; };
  REQUIRE(cache.get("a.test", allowOnce).ok());
  CHECK(cache.get("a.test", allowOnce).ok()); // cached: not asked
  CHECK(asked == 1);
  auto refused = cache.get("b.test", allowOnce);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.failure().code == Error::kTooLarge);
  CHECK(asked == 2);
  CHECK(cache.size() == 1);
}
