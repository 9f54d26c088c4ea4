#include <catch2/catch.hpp>

#include "app/platform_filter.h"

using regcache::app::parsePlatform;
using regcache::app::Platform;
using regcache::app::platformWanted;

TEST_CASE("platforms parse as os/arch or os/arch/variant", "[warm]") {
  auto two = parsePlatform("linux/arm64");
  REQUIRE(two.ok());
  CHECK(two->os == "linux");
  CHECK(two->architecture == "arm64");
  CHECK(two->variant.empty());
  auto three = parsePlatform("linux/arm/v7");
  REQUIRE(three.ok());
  CHECK(three->variant == "v7");
  CHECK(three->toString() == "linux/arm/v7");
  CHECK_FALSE(parsePlatform("linux").ok());
  CHECK_FALSE(parsePlatform("linux/").ok());
  CHECK_FALSE(parsePlatform("/amd64").ok());
  CHECK_FALSE(parsePlatform("linux/arm/v7/x").ok());
}

TEST_CASE("no --platform wants every index entry", "[warm]") {
  CHECK(platformWanted({}, Platform{"linux", "amd64", ""}));
  CHECK(platformWanted({}, Platform{"unknown", "unknown", ""}));
}

TEST_CASE("a platform without a variant matches every variant, one with a variant only it",
          "[warm]") {
  std::vector<Platform> arm{{"linux", "arm", ""}};
  CHECK(platformWanted(arm, Platform{"linux", "arm", "v6"}));
  CHECK(platformWanted(arm, Platform{"linux", "arm", "v7"}));
  CHECK_FALSE(platformWanted(arm, Platform{"linux", "arm64", "v8"}));
  std::vector<Platform> v7{{"linux", "arm", "v7"}};
  CHECK(platformWanted(v7, Platform{"linux", "arm", "v7"}));
  CHECK_FALSE(platformWanted(v7, Platform{"linux", "arm", "v6"}));
  CHECK_FALSE(platformWanted(v7, Platform{"windows", "arm", "v7"}));
  std::vector<Platform> both{{"linux", "amd64", ""}, {"linux", "arm64", ""}};
  CHECK(platformWanted(both, Platform{"linux", "arm64", "v8"}));
  CHECK_FALSE(platformWanted(both, Platform{"linux", "s390x", ""}));
}
