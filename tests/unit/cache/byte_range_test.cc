#include <catch2/catch.hpp>

#include "cache/byte_range.h"

using namespace regcache::cache;
using Kind = ByteRange::Kind;

TEST_CASE("no or unusable Range headers mean the whole blob", "[cache][range]") {
  CHECK(resolveRange(std::nullopt, 100).kind == Kind::kWhole);
  CHECK(resolveRange("items=0-1", 100).kind == Kind::kWhole);
  CHECK(resolveRange("bytes=0-1,5-6", 100).kind == Kind::kWhole);
  CHECK(resolveRange("bytes=abc-", 100).kind == Kind::kWhole);
  CHECK(resolveRange("bytes=9-3", 100).kind == Kind::kWhole);
}

TEST_CASE("single ranges resolve against the size, open-ended and suffix included",
          "[cache][range]") {
  auto r = resolveRange("bytes=10-19", 100);
  CHECK(r.kind == Kind::kPartial);
  CHECK(r.first == 10);
  CHECK(r.last == 19);
  CHECK(r.length() == 10);
  auto open = resolveRange("bytes=90-", 100);
  CHECK(open.kind == Kind::kPartial);
  CHECK(open.last == 99);
  auto suffix = resolveRange("bytes=-30", 100);
  CHECK(suffix.first == 70);
  CHECK(suffix.last == 99);
  auto clamped = resolveRange("bytes=50-1000", 100);
  CHECK(clamped.last == 99);
  auto bigSuffix = resolveRange("bytes=-500", 100);
  CHECK(bigSuffix.first == 0);
}

TEST_CASE("ranges past the end are unsatisfiable", "[cache][range]") {
  CHECK(resolveRange("bytes=100-", 100).kind == Kind::kUnsatisfiable);
  CHECK(resolveRange("bytes=-0", 100).kind == Kind::kUnsatisfiable);
  CHECK(resolveRange("bytes=0-", 0).kind == Kind::kUnsatisfiable);
}
