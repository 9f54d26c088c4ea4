#include <catch2/catch.hpp>

#include "cache/fill_budget.h"

using regcache::cache::FillBudget;

TEST_CASE("fills in flight reserve their announced bytes within the limit", "[cache][budget]") {
  FillBudget budget(1000);
  auto first = budget.reserve(600);
  REQUIRE(first);
  CHECK(budget.reserved() == 600);
  CHECK_FALSE(budget.reserve(500)); // would not fit beside the first
  CHECK_FALSE(budget.reserve(2000));
  auto second = budget.reserve(400);
  REQUIRE(second);
  CHECK(budget.reserved() == 1000);
  first->release();
  first->release(); // idempotent
  CHECK(budget.reserved() == 400);
  FillBudget::Reservation moved = std::move(*second);
  second.reset();
  CHECK(budget.reserved() == 400);
  moved = {};
  CHECK(budget.reserved() == 0);
}

TEST_CASE("without a limit every fill is admitted and still counted", "[cache][budget]") {
  FillBudget budget(0);
  auto huge = budget.reserve(std::uint64_t{1} << 50);
  REQUIRE(huge);
  CHECK(budget.reserved() == std::uint64_t{1} << 50);
}
