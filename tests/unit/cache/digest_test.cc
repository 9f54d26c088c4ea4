#include <catch2/catch.hpp>

#include "cache/digest.h"

using namespace regcache::cache;

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

TEST_CASE("incremental hashing matches hashing at once", "[cache][digest]") {
  CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 split;
  split.update("a");
  split.update("bc");
  CHECK(split.finishHex() == sha256Hex("abc"));
}
