#include <catch2/catch.hpp>

#include "app/units.h"

using namespace regcache::app;
using namespace std::chrono_literals;

TEST_CASE("durations take units from milliseconds to days", "[app][units]") {
  CHECK(parseDuration("500ms") == 500ms);
  CHECK(parseDuration("10s") == 10s);
  CHECK(parseDuration("10") == 10s);
  CHECK(parseDuration("5m") == 5min);
  CHECK(parseDuration("2h") == 2h);
  CHECK(parseDuration("7d") == std::chrono::hours(24 * 7));
}

TEST_CASE("bad durations are rejected", "[app][units]") {
  for (const char *bad : {"", "s", "10x", "-5s", "1.5s", "10 s"}) {
    INFO(bad);
    CHECK_THROWS_AS(parseDuration(bad), std::invalid_argument);
  }
}

TEST_CASE("sizes take binary and decimal units", "[app][units]") {
  CHECK(parseSize("512") == 512);
  CHECK(parseSize("64KiB") == 64 * 1024);
  CHECK(parseSize("1MiB") == 1u << 20);
  CHECK(parseSize("50GiB") == 50ull << 30);
  CHECK(parseSize("1GB") == 1000000000ull);
  CHECK(parseSize("2tib") == 2ull << 40);
}

TEST_CASE("bad sizes are rejected", "[app][units]") {
  for (const char *bad : {"", "GiB", "10XB", "-1", "99999999999TiB"}) {
    INFO(bad);
    CHECK_THROWS_AS(parseSize(bad), std::invalid_argument);
  }
}
