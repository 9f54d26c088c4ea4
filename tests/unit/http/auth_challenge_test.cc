#include <catch2/catch.hpp>

#include "proxy/http/auth_challenge.h"

using namespace regcache::proxy::http;

TEST_CASE("a registry's bearer challenge gives realm, service and scope", "[http][auth]") {
  auto challenges = parseAuthChallenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/alpine:pull")");
  REQUIRE(challenges.size() == 1);
  CHECK(challenges[0].scheme == "bearer");
  CHECK(challenges[0].param("realm") == "https://auth.docker.io/token");
  CHECK(challenges[0].param("service") == "registry.docker.io");
  CHECK(challenges[0].param("scope") == "repository:library/alpine:pull");
  CHECK_FALSE(challenges[0].param("error"));
}

TEST_CASE("schemes and names are case-insensitive; spaces and escapes are allowed",
          "[http][auth]") {
  auto challenges = parseAuthChallenges(R"(BASIC  Realm = "Registry \"Realm\"" , charset=UTF-8)");
  REQUIRE(challenges.size() == 1);
  CHECK(challenges[0].scheme == "basic");
  CHECK(challenges[0].param("realm") == R"(Registry "Realm")");
  CHECK(challenges[0].param("charset") == "UTF-8");
}

TEST_CASE("several challenges in one header, token68 included", "[http][auth]") {
  auto challenges =
      parseAuthChallenges(R"(Negotiate abc==, Basic realm="r", Bearer realm="https://a/t")");
  REQUIRE(challenges.size() == 3);
  CHECK(challenges[0].scheme == "negotiate");
  CHECK(challenges[0].token68 == "abc==");
  CHECK(challenges[1].scheme == "basic");
  CHECK(challenges[1].param("realm") == "r");
  CHECK(challenges[2].scheme == "bearer");
  CHECK(challenges[2].param("realm") == "https://a/t");
}

TEST_CASE("malformed challenges stop the parse without inventing values", "[http][auth]") {
  CHECK(parseAuthChallenges("").empty());
  CHECK(parseAuthChallenges("  ,, ").empty());
  CHECK(parseAuthChallenges("\"quoted\"").empty());
  auto unterminated = parseAuthChallenges(R"(Bearer realm="https://a/t)");
  CHECK(unterminated.empty());
  auto partial = parseAuthChallenges(R"(Basic realm="r", Bearer realm="x)");
  REQUIRE(partial.size() == 1);
  CHECK(partial[0].scheme == "basic");
}
