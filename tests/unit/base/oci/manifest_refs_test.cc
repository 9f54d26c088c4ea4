#include <catch2/catch.hpp>

#include "base/oci/manifest_refs.h"

using regcache::oci::referencedDigests;

namespace {
const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');
} // namespace

TEST_CASE("an image manifest references its config and layers", "[cache][manifest]") {
  std::string manifest = R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kC +
                         R"(","size":1},"layers":[{"digest" : ")" + kA +
                         R"(","size":2},{"digest":")" + kB + R"(","size":3},{"digest":")" + kA +
                         R"("}]})";
  CHECK(referencedDigests(manifest) == std::vector<std::string>{kA, kB, kC});
}

TEST_CASE("an image index references its per-platform manifests", "[cache][manifest]") {
  std::string index = "{\"manifests\":[\n  {\"digest\":\n  \"" + kB +
                      "\",\"platform\":{\"architecture\":\"arm64\"}}]}";
  CHECK(referencedDigests(index) == std::vector<std::string>{kB});
}

TEST_CASE("malformed or foreign digests are ignored", "[cache][manifest]") {
  CHECK(referencedDigests(R"({"digest":"sha256:short","x":"digest"})").empty());
  CHECK(referencedDigests(R"({"digest":"md5:abc"})").empty());
  CHECK(referencedDigests(R"({"digest")").empty());
  CHECK(referencedDigests(R"({"digest":")").empty());
  CHECK(referencedDigests("").empty());
}
