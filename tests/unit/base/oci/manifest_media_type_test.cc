#include <catch2/catch.hpp>

#include "base/oci/manifest_media_type.h"

using regcache::oci::manifestMediaType;

TEST_CASE("a manifest's type is its top-level mediaType, never a descriptor's",
          "[cache][manifest]") {
  CHECK(manifestMediaType(R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.)"
                          R"(manifest.v2+json","config":{"mediaType":"x/config"}})") ==
        "application/vnd.docker.distribution.manifest.v2+json");
  // The config's mediaType comes first, and there is no top-level one: the shape decides.
  CHECK(manifestMediaType(R"({ "schemaVersion": 2, "config": {"mediaType": )"
                          R"("application/vnd.oci.image.config.v1+json", "size": 2},)"
                          R"( "layers": [{"mediaType": "a/b", "annotations": {"k": "}\"]"}}] })") ==
        "application/vnd.oci.image.manifest.v1+json");
  CHECK(manifestMediaType(R"({"manifests":[{"mediaType":"a/b"}],"schemaVersion":2})") ==
        "application/vnd.oci.image.index.v1+json");
  CHECK(manifestMediaType(
            R"({"mediaType":"a/b","mediaType":"application/vnd.oci.image.index.v1+json"})") ==
        "application/vnd.oci.image.index.v1+json");
  CHECK(manifestMediaType(R"({"schemaVersion":1,"fsLayers":[],"signatures":[]})") ==
        "application/vnd.docker.distribution.manifest.v1+prettyjws");
  CHECK(manifestMediaType(R"({"schemaVersion":1,"fsLayers":[]})") ==
        "application/vnd.docker.distribution.manifest.v1+json");
}

TEST_CASE("bytes that are no manifest have no manifest type", "[cache][manifest]") {
  for (const char *bytes :
       {"", "not json", "[1,2]", "{}", R"({"schemaVersion":2})", R"({"mediaType":"a/b")",
        R"({"mediaType":"text/html\r\nX-Evil: 1"})", R"({"mediaType":"noslash"})",
        R"({"layers":[{"a":"unterminated}]})", "{\"a\" 1}", "\x1f\x8b\x08\x00"}) {
    INFO(bytes);
    CHECK_FALSE(manifestMediaType(bytes).has_value());
  }
}
