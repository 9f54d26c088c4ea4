#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "base/oci/registry_route.h"

using namespace regcache::oci;

namespace {
const std::string kDigest = "sha256:" + std::string(64, 'a');
}

TEST_CASE("blob routes read the name from the right, slashes included", "[cache][route]") {
  auto r = parseRegistryPath("/v2/org/team/app/blobs/" + kDigest);
  REQUIRE(r);
  CHECK(r->kind == RegistryRoute::Kind::kBlob);
  CHECK(r->repository == "org/team/app");
  CHECK(r->byDigest());
  CHECK(r->digest->toString() == kDigest);
}

TEST_CASE("manifest routes take tags and digests", "[cache][route]") {
  auto tag = parseRegistryPath("/v2/library/alpine/manifests/3.19");
  REQUIRE(tag);
  CHECK(tag->kind == RegistryRoute::Kind::kManifest);
  CHECK(tag->repository == "library/alpine");
  CHECK(tag->reference == "3.19");
  CHECK_FALSE(tag->byDigest());
  auto digest = parseRegistryPath("/v2/library/alpine/manifests/" + kDigest);
  REQUIRE(digest);
  CHECK(digest->byDigest());
  // A repository named like a route keyword still parses from the right.
  auto tricky = parseRegistryPath("/v2/blobs/manifests/manifests/latest");
  REQUIRE(tricky);
  CHECK(tricky->repository == "blobs/manifests");
}

TEST_CASE("other registry paths are not cache routes", "[cache][route]") {
  for (const std::string &path : std::vector<std::string>{
           "/v2/", "/v2/_catalog", "/v2/library/alpine/tags/list",
           "/v2/library/alpine/blobs/uploads/", "/v2/library/alpine/blobs/uploads/123-abc",
           "/v1/library/alpine/manifests/latest", "/v2/manifests/latest",
           "/v2//blobs/" + kDigest}) {
    INFO(path);
    CHECK_FALSE(parseRegistryPath(path));
  }
}

TEST_CASE("bad names, tags and digests are refused", "[cache][route]") {
  for (const std::string &path : std::vector<std::string>{
           "/v2/Library/alpine/manifests/latest", "/v2/library//alpine/manifests/latest",
           "/v2/library/alpine-/manifests/latest", "/v2/../etc/manifests/latest",
           "/v2/library/alpine/manifests/-bad",
           "/v2/library/alpine/manifests/" + std::string(129, 'a'),
           "/v2/library/alpine/blobs/sha256:" + std::string(63, 'a'),
           "/v2/library/alpine/blobs/sha256:" + std::string(64, 'A'),
           "/v2/library/alpine/blobs/sha512:" + std::string(128, 'a'),
           "/v2/library/alpine/manifests/sha256:short"}) {
    INFO(path);
    CHECK_FALSE(parseRegistryPath(path));
  }
  CHECK(validRepositoryName("a__b/c.d/e-f/g--h"));
  CHECK_FALSE(validRepositoryName("a___b"));
  CHECK(validTag("v1.2.3-rc_1"));
}
