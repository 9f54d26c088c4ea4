#include <catch2/catch.hpp>

#include "app/image_reference.h"

using regcache::app::parseImageReference;

TEST_CASE("a Docker Hub short name gets docker.io, library/ and latest", "[warm]") {
  auto ref = parseImageReference("alpine");
  REQUIRE(ref.ok());
  CHECK(ref->registry == "docker.io");
  CHECK(ref->repository == "library/alpine");
  CHECK(ref->reference == "latest");
  CHECK(ref->endpoint() == "registry-1.docker.io:443");
  CHECK(ref->toString() == "docker.io/library/alpine:latest");
}

TEST_CASE("a full Docker Hub reference keeps its tag", "[warm]") {
  auto ref = parseImageReference("docker.io/library/alpine:3.19");
  REQUIRE(ref.ok());
  CHECK(ref->repository == "library/alpine");
  CHECK(ref->reference == "3.19");
  auto old = parseImageReference("index.docker.io/alpine");
  REQUIRE(old.ok());
  CHECK(old->toString() == "docker.io/library/alpine:latest");
  auto user = parseImageReference("bitnami/redis:7");
  REQUIRE(user.ok());
  CHECK(user->registry == "docker.io");
  CHECK(user->repository == "bitnami/redis");
}

TEST_CASE("a registry with a port is not taken for a tag", "[warm]") {
  auto ref = parseImageReference("registry.test:5000/team/app");
  REQUIRE(ref.ok());
  CHECK(ref->registry == "registry.test:5000");
  CHECK(ref->endpoint() == "registry.test:5000");
  CHECK(ref->repository == "team/app");
  CHECK(ref->reference == "latest");
  auto local = parseImageReference("localhost/app:v1");
  REQUIRE(local.ok());
  CHECK(local->registry == "localhost");
  CHECK(local->reference == "v1");
}

TEST_CASE("a digest wins over a tag", "[warm]") {
  std::string digest = "sha256:" + std::string(64, 'a');
  auto ref = parseImageReference("registry.test:5000/app:v1@" + digest);
  REQUIRE(ref.ok());
  CHECK(ref->reference == digest);
  CHECK(ref->byDigest());
  CHECK(ref->toString() == "registry.test:5000/app@" + digest);
}

TEST_CASE("malformed references are refused", "[warm]") {
  CHECK_FALSE(parseImageReference("").ok());
  CHECK_FALSE(parseImageReference("Alpine").ok());
  CHECK_FALSE(parseImageReference("alpine:").ok());
  CHECK_FALSE(parseImageReference("alpine@sha256:short").ok());
  CHECK_FALSE(parseImageReference("registry.test:5000/").ok());
  CHECK_FALSE(parseImageReference("registry.test/a//b").ok());
  CHECK_FALSE(parseImageReference("alpine:-bad").ok());
  CHECK_FALSE(parseImageReference("reg istry.test/app").ok());
}
