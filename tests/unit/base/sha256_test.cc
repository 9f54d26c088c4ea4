#include <catch2/catch.hpp>

#include "base/sha256.h"

using namespace regcache;

TEST_CASE("incremental hashing matches hashing at once", "[base][sha256]") {
  CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 split;
  split.update("a");
  split.update("bc");
  CHECK(split.finishHex() == sha256Hex("abc"));
}
