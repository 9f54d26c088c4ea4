#include <catch2/catch.hpp>

#include "base/oci/digest.h"

using namespace regcache::oci;

TEST_CASE("sha256 digests parse, others are refused", "[cache][digest]") {
  auto d = parseDigest("sha256:" + std::string(64, 'f'));
  REQUIRE(d);
  CHECK(d->algorithm == "sha256");
  CHECK(d->toString() == "sha256:" + std::string(64, 'f'));
  CHECK_FALSE(parseDigest("sha256:" + std::string(64, 'g')));
  CHECK_FALSE(parseDigest("sha256:" + std::string(65, 'a')));
  CHECK_FALSE(parseDigest("md5:" + std::string(64, 'a')));
  CHECK_FALSE(parseDigest(""));
}
