#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <thread>

#include "ca/authority.h"
#include "ca/leaf_cache.h"
#include "proxy/ca_watcher.h"

using namespace regcache;
using namespace std::chrono_literals;

namespace {

// Polls `condition` for up to 3 s.
template <class F> bool eventually(F condition) {
  for (int i = 0; i < 300; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

} // namespace

TEST_CASE("the watcher rotates on schedule and switches the leaf cache after the overlap",
          "[ca][watcher]") {
  std::random_device random;
  auto dir =
      std::filesystem::temp_directory_path() / ("regcache-watch-" + std::to_string(random()));
  ManualClock clock(std::chrono::system_clock::now());
  auto created = ca::Authority::create(dir, clock);
  REQUIRE(created.ok());
  X509Ptr first = shareX509(created.value()->signingCert());
  ca::LeafCache leaves(created.value(), clock, 16);
  REQUIRE(leaves.get("a.test").ok());

  proxy::CaWatcher watcher(dir, leaves, clock, proxy::CaWatchOptions{20ms, 1h, 10min, 2h});
  watcher.start();
  CHECK(eventually([&] { return leaves.authority()->generations().size() == 1; }));

  clock.advance(61min); // the schedule is due: a new root is published, not yet signing
  watcher.checkNow();
  CHECK(eventually([&] { return leaves.authority()->generations().size() == 2; }));
  CHECK(X509_cmp(leaves.authority()->signingCert(), first.get()) == 0);

  clock.advance(11min); // the overlap is over: the new root signs, old leaves are dropped
  watcher.checkNow();
  CHECK(eventually([&] { return X509_cmp(leaves.authority()->signingCert(), first.get()) != 0; }));
  auto leaf = leaves.get("a.test");
  REQUIRE(leaf.ok());
  CHECK(X509_check_issued(leaves.authority()->signingCert(), leaf.value()->cert.get()) ==
        X509_V_OK);
  CHECK(leaf.value()->chain.size() == 1); // the cross-certificate to the old root
  watcher.stop();
  std::filesystem::remove_all(dir);
}

TEST_CASE("the watcher keeps the current CA when the directory is broken", "[ca][watcher]") {
  std::random_device random;
  auto dir =
      std::filesystem::temp_directory_path() / ("regcache-watch-" + std::to_string(random()));
  auto created = ca::Authority::create(dir, SystemClock::instance());
  REQUIRE(created.ok());
  ca::LeafCache leaves(created.value(), SystemClock::instance(), 16);
  proxy::CaWatcher watcher(dir, leaves, SystemClock::instance(), proxy::CaWatchOptions{20ms});
  watcher.start();
  std::filesystem::remove(dir / "gen-0001" / "times");
  watcher.checkNow();
  std::this_thread::sleep_for(100ms);
  CHECK(leaves.authority() == created.value());
  CHECK(leaves.get("a.test").ok());
  watcher.stop();
  std::filesystem::remove_all(dir);
}
