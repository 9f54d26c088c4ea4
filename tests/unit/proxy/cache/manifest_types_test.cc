#include <catch2/catch.hpp>

#include "proxy/cache/manifest_types.h"

using regcache::Error;
using regcache::fail;
using regcache::Result;
using regcache::proxy::ManifestTypes;

namespace {
std::optional<std::string> scan(const std::string &json) {
  if (json == "{}") return std::nullopt;
  return "type-of-" + json;
}
} // namespace

TEST_CASE("a manifest's media type is read and scanned once per digest", "[manifest_types]") {
  ManifestTypes types(16);
  int reads = 0;
  auto read = [&]() -> Result<std::string> {
    ++reads;
    return std::string("abc");
  };
  CHECK(types.typeOf("sha256:a", 3, read, scan) == "type-of-abc");
  CHECK(types.typeOf("sha256:a", 3, read, scan) == "type-of-abc");
  CHECK(types.typeOf("sha256:a", 3, read, scan) == "type-of-abc");
  CHECK(reads == 1);
  CHECK(types.typeOf("sha256:b", 3, read, scan) == "type-of-abc");
  CHECK(reads == 2);
}

TEST_CASE("a manifest naming no type is remembered as such", "[manifest_types]") {
  ManifestTypes types(16);
  int reads = 0;
  auto read = [&]() -> Result<std::string> {
    ++reads;
    return std::string("{}");
  };
  CHECK_FALSE(types.typeOf("sha256:a", 2, read, scan).has_value());
  CHECK_FALSE(types.typeOf("sha256:a", 2, read, scan).has_value());
  CHECK(reads == 1);
}

TEST_CASE("a failed or short read of a manifest is not remembered", "[manifest_types]") {
  ManifestTypes types(16);
  int reads = 0;
  bool broken = true;
  auto read = [&]() -> Result<std::string> {
    ++reads;
    if (broken) return fail(Error::kIo, "read failed");
    return std::string("abc");
  };
  CHECK_FALSE(types.typeOf("sha256:a", 3, read, scan).has_value());
  broken = false;
  CHECK_FALSE(types.typeOf("sha256:a", 4, read, scan).has_value()); // shorter than its row
  CHECK(types.typeOf("sha256:a", 3, read, scan) == "type-of-abc");
  CHECK(reads == 3);
  CHECK(types.typeOf("sha256:a", 3, read, scan) == "type-of-abc");
  CHECK(reads == 3);
}

TEST_CASE("the remembered manifest types are bounded in count", "[manifest_types]") {
  ManifestTypes types(4);
  auto read = []() -> Result<std::string> { return std::string("abc"); };
  for (int i = 0; i < 10; ++i)
    types.typeOf("sha256:" + std::to_string(i), 3, read, scan);
  CHECK(types.size() == 4);
}
