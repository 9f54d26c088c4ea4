#include <catch2/catch.hpp>

#include "base/clock.h"
#include "ca/mint_limiter.h"

using regcache::ManualClock;
using regcache::ca::MintLimiter;

TEST_CASE("a mint limiter grants a burst per client, then refills over a minute", "[ca][limits]") {
  ManualClock clock(std::chrono::system_clock::now());
  MintLimiter limiter(clock, 2);
  CHECK(limiter.tryTake("10.0.0.1"));
  CHECK(limiter.tryTake("10.0.0.1"));
  CHECK_FALSE(limiter.tryTake("10.0.0.1"));
  CHECK(limiter.tryTake("10.0.0.2"));      // another client has its own bucket
  clock.advance(std::chrono::seconds(30)); // half a minute: one mint back
  CHECK(limiter.tryTake("10.0.0.1"));
  CHECK_FALSE(limiter.tryTake("10.0.0.1"));
  clock.advance(std::chrono::seconds(600)); // never more than the burst
  CHECK(limiter.tryTake("10.0.0.1"));
  CHECK(limiter.tryTake("10.0.0.1"));
  CHECK_FALSE(limiter.tryTake("10.0.0.1"));
}

TEST_CASE("a mint limiter of 0 is no limit", "[ca][limits]") {
  ManualClock clock(std::chrono::system_clock::now());
  MintLimiter limiter(clock, 0);
  for (int i = 0; i < 100; ++i)
    CHECK(limiter.tryTake("10.0.0.1"));
}
