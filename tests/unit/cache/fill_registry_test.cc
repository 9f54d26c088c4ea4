#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "cache/fill_registry.h"

using regcache::cache::FillLeader;
using regcache::cache::FillProgress;
using regcache::cache::FillRegistry;

TEST_CASE("one fill per key: the first caller leads, later ones read its fill", "[fill]") {
  FillRegistry fills;
  auto [first, leads] = fills.join("r blob d", FillLeader{"alice", "team/app", false});
  CHECK(leads);
  auto [second, alsoLeads] = fills.join("r blob d", FillLeader{"bob", "other/app", true});
  CHECK_FALSE(alsoLeads);
  CHECK(second == first);
  // Who started it is the leader's, whoever joins.
  CHECK(second->leader.credentialKey == "alice");
  CHECK(second->leader.repository == "team/app");
  CHECK_FALSE(second->leader.openToAll);
  fills.finish("r blob d", first, FillProgress::kCommitted);
  CHECK(fills.inFlight() == 0);
  CHECK(fills.join("r blob d", FillLeader{}).second); // the next miss leads again
}

TEST_CASE("a fill's readers are woken when bytes land and when it ends, until they leave",
          "[fill]") {
  FillRegistry fills;
  auto [progress, leads] = fills.join("r blob d", FillLeader{});
  REQUIRE(leads);
  std::atomic<int> woken{0};
  auto id = progress->subscribe([&] { ++woken; });
  progress->publishState(FillProgress::kStreaming);
  CHECK(woken == 1);
  // From another thread, as a leader on another worker would.
  std::thread leader([&] { progress->publishWritten(4096); });
  leader.join();
  CHECK(woken == 2);
  CHECK(progress->written.load() == 4096);
  fills.finish("r blob d", progress, FillProgress::kCommitted);
  CHECK(woken == 3);
  CHECK(progress->state.load() == FillProgress::kCommitted);
  progress->unsubscribe(id);
  progress->publishWritten(8192);
  CHECK(woken == 3);
}
