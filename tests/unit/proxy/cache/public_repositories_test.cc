#include <catch2/catch.hpp>

#include "proxy/cache/public_repositories.h"

using namespace regcache;
using namespace std::chrono_literals;

TEST_CASE("one probe per repository at a time, and a verdict kept for the TTL",
          "[public_repositories]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  proxy::PublicRepositories repositories(clock, 600s);
  CHECK_FALSE(repositories.known("r.io", "library/base"));
  REQUIRE(repositories.beginProbe("r.io", "library/base"));
  CHECK_FALSE(repositories.beginProbe("r.io", "library/base")); // in flight
  CHECK(repositories.beginProbe("r.io", "library/other"));      // another repository
  CHECK_FALSE(repositories.known("r.io", "library/base"));

  repositories.endProbe("r.io", "library/base", true);
  CHECK(repositories.known("r.io", "library/base") == std::optional<bool>(true));
  CHECK_FALSE(repositories.beginProbe("r.io", "library/base"));
  clock.advance(600s);
  CHECK_FALSE(repositories.known("r.io", "library/base")); // a repository can turn private
  CHECK(repositories.beginProbe("r.io", "library/base"));

  repositories.endProbe("r.io", "library/other", false);
  CHECK(repositories.known("r.io", "library/other") == std::optional<bool>(false));
}

TEST_CASE("a probe that could not tell is retried after a minute, not at once",
          "[public_repositories]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  proxy::PublicRepositories repositories(clock, 600s);
  REQUIRE(repositories.beginProbe("r.io", "a"));
  repositories.endProbe("r.io", "a", std::nullopt);
  CHECK_FALSE(repositories.known("r.io", "a"));
  CHECK_FALSE(repositories.beginProbe("r.io", "a"));
  clock.advance(60s);
  CHECK(repositories.beginProbe("r.io", "a"));
  // A probe whose worker never reported does not block the repository for good either.
  clock.advance(60s);
  CHECK(repositories.beginProbe("r.io", "a"));
}

TEST_CASE("the verdicts stay bounded", "[public_repositories]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  proxy::PublicRepositories repositories(clock, 600s, 4);
  for (int i = 0; i < 4; ++i)
    REQUIRE(repositories.beginProbe("r", std::to_string(i)));
  CHECK_FALSE(repositories.beginProbe("r", "4")); // full of probes in flight
  clock.advance(60s);
  CHECK(repositories.beginProbe("r", "4")); // expired ones make room
}
