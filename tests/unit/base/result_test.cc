#include <catch2/catch.hpp>

#include <memory>

#include "base/result.h"

using namespace regcache;

TEST_CASE("result carries either a value or a failure", "[result]") {
  Result<int> good = 42;
  REQUIRE(good.ok());
  CHECK(*good == 42);
  Result<int> bad = fail(Error::kDns, "no such host");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.failure().code == Error::kDns);
  CHECK(bad.failure().detail == "no such host");
}

TEST_CASE("result of a move-only type can be moved out", "[result]") {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  CHECK(*p == 7);
}

TEST_CASE("result<void> defaults to success", "[result]") {
  Result<void> ok;
  CHECK(ok.ok());
  Result<void> bad = fail(Error::kIo, "disk");
  CHECK_FALSE(bad.ok());
  CHECK(std::string(errorName(bad.failure().code)) == "i/o error");
}
