#include <catch2/catch.hpp>

#include "app/manifest_contents.h"
#include "app/warm_plan.h"

using regcache::app::ManifestContents;
using regcache::app::parseManifestContents;

namespace {

std::string digestOf(char c) { return "sha256:" + std::string(64, c); }

const std::string kIndex =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
  "manifests":[
   {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
    digestOf('a') + R"(","size":500,
    "platform":{"architecture":"amd64","os":"linux"}},
   {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
    digestOf('b') + R"(","size":501,
    "platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]})";

const std::string kManifest = R"({"schemaVersion":2,
  "mediaType":"application/vnd.docker.distribution.manifest.v2+json",
  "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                              digestOf('c') + R"(","size":1234},
  "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
                              digestOf('d') + R"(","size":99999999999},
            {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
                              digestOf('e') + R"(","size":7,"annotations":{"a\u00e9":"\"x\""}}]})";

} // namespace

TEST_CASE("an OCI index lists its manifests with their platforms", "[warm]") {
  auto contents = parseManifestContents(kIndex);
  REQUIRE(contents.ok());
  CHECK(contents->index);
  REQUIRE(contents->manifests.size() == 2);
  CHECK(contents->manifests[0].digest == digestOf('a'));
  CHECK(contents->manifests[0].size == 500);
  CHECK(contents->manifests[0].platform.toString() == "linux/amd64");
  CHECK(contents->manifests[1].platform.toString() == "linux/arm64/v8");
  CHECK(contents->blobs.empty());
}

TEST_CASE("an image manifest lists its config, then its layers", "[warm]") {
  auto contents =
      parseManifestContents(kManifest, "application/vnd.docker.distribution.manifest.v2+json");
  REQUIRE(contents.ok());
  CHECK_FALSE(contents->index);
  REQUIRE(contents->blobs.size() == 3);
  CHECK(contents->blobs[0].digest == digestOf('c'));
  CHECK(contents->blobs[0].size == 1234);
  CHECK(contents->blobs[1].size == 99999999999ull);
  CHECK(contents->blobs[2].digest == digestOf('e'));
}

TEST_CASE("the Content-Type decides the kind, else the document's shape", "[warm]") {
  std::string bare = R"({"manifests":[{"digest":")" + digestOf('a') + R"(","size":1}]})";
  auto byShape = parseManifestContents(bare, "application/json");
  REQUIRE(byShape.ok());
  CHECK(byShape->index);
  auto byHeader =
      parseManifestContents(bare, "application/vnd.docker.distribution.manifest.list.v2+json");
  REQUIRE(byHeader.ok());
  CHECK(byHeader->index);
  // Typed as a manifest, it has no config: refused rather than warmed as nothing.
  CHECK_FALSE(parseManifestContents(bare, "application/vnd.oci.image.manifest.v1+json").ok());
}

TEST_CASE("hostile or unusable manifests are refused, never half-read", "[warm]") {
  CHECK_FALSE(parseManifestContents("").ok());
  CHECK_FALSE(parseManifestContents("[]").ok());
  CHECK_FALSE(parseManifestContents("{\"layers\":[").ok());
  CHECK_FALSE(parseManifestContents(R"({"schemaVersion":1,"fsLayers":[]})").ok());
  CHECK_FALSE(parseManifestContents(R"({"config":{"digest":"sha256:abc","size":1}})").ok());
  CHECK_FALSE(parseManifestContents(R"({"config":{"digest":")" + digestOf('c') + R"("}})").ok());
  CHECK_FALSE(
      parseManifestContents(R"({"config":{"digest":")" + digestOf('c') + R"(","size":-1}})").ok());
  CHECK_FALSE(parseManifestContents(R"({"manifests":{"digest":"x"}})").ok());
  CHECK_FALSE(parseManifestContents(std::string(100000, '[') + std::string(100000, ']')).ok());
  CHECK_FALSE(parseManifestContents(kManifest + "garbage").ok());
}

TEST_CASE("blobs shared by platforms are fetched once", "[warm]") {
  regcache::app::ImagePlan plan;
  ManifestContents first, second;
  first.blobs = {{"", digestOf('c'), 1, {}}, {"", digestOf('d'), 2, {}}};
  second.blobs = {{"", digestOf('f'), 3, {}}, {"", digestOf('d'), 2, {}}};
  regcache::app::addBlobs(plan, first);
  regcache::app::addBlobs(plan, second);
  REQUIRE(plan.blobs.size() == 3);
  CHECK(plan.blobs[2].digest == digestOf('f'));
}
