#include <catch2/catch.hpp>

#include "proxy/observe/pull_stats.h"
#include "proxy/observe/status_history.h"
#include "proxy/observe/status_report.h"

using namespace regcache::proxy;
using namespace std::chrono_literals;

namespace {
CounterSample at(std::chrono::system_clock::time_point when, std::uint64_t hits) {
  CounterSample s;
  s.at = when;
  s.hits = hits;
  return s;
}
} // namespace

TEST_CASE("the history keeps the first sample of each minute, for an hour", "[status]") {
  StatusHistory history;
  std::chrono::system_clock::time_point start{std::chrono::minutes(29000000)};
  history.record(at(start, 1));
  history.record(at(start + 30s, 2)); // same minute: dropped
  history.record(at(start + 61s, 3));
  auto kept = history.samples();
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].hits == 1);
  CHECK(kept[1].hits == 3);
  for (int minute = 2; minute < 90; ++minute) {
    history.record(at(start + std::chrono::minutes(minute), 10 * minute));
  }
  kept = history.samples();
  CHECK(kept.size() == StatusHistory::kMinutes + 1);
  CHECK(kept.back().hits == 890);
  CHECK(kept.front().hits == 10 * (89 - 60));
}

TEST_CASE("a difference of samples never goes below zero", "[status]") {
  CounterSample later = at({}, 5);
  CounterSample earlier = at({}, 7);
  later.upstreamErrors[0] = 3;
  auto d = difference(later, earlier);
  CHECK(d.hits == 0);
  CHECK(d.upstreamErrors[0] == 3);
}

TEST_CASE("pull stats rank repositories and bound their names", "[status]") {
  PullStats stats(2);
  stats.countRequest("r", "a", true, false, 10);
  stats.countRequest("r", "b", true, true, 500);
  stats.countRequest("r", "b", true, true, 5);
  stats.countRequest("r", "c", false, false, 1000); // the third name counts as "other"
  auto byPulls = stats.topByPulls(10);
  REQUIRE(byPulls.size() == 3);
  CHECK(byPulls[0].name == "r/b");
  CHECK(byPulls[0].pulls == 2);
  auto byBytes = stats.topByBytes(1);
  REQUIRE(byBytes.size() == 1);
  CHECK(byBytes[0].name == "other");
  auto registries = stats.registries();
  REQUIRE(registries.size() == 1);
  CHECK(registries[0].pulls == 3);
  CHECK(registries[0].pullsSaved == 2);
}

TEST_CASE("sizes and ratios are written the page's way", "[status]") {
  CHECK(humanBytes(0) == "0 B");
  CHECK(humanBytes(1023) == "1023 B");
  CHECK(humanBytes(1536) == "1.5 KiB");
  CHECK(humanBytes(20u << 20) == "20.0 MiB");
  CHECK(humanBytes(3ull << 30) == "3.0 GiB");
  CHECK(hitRatioText(0, 0) == "-");
  CHECK(hitRatioText(1, 2) == "33.3%");
  CHECK(isDockerHub("registry-1.docker.io"));
  CHECK(isDockerHub("registry-1.docker.io:443"));
  CHECK_FALSE(isDockerHub("ghcr.io"));
}
