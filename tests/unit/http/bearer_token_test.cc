#include <catch2/catch.hpp>

#include "proxy/http/bearer_token.h"

using namespace regcache::proxy::http;
using namespace std::chrono_literals;

TEST_CASE("a JWT bearer token's exp is read from its payload", "[bearer_token]") {
  // The claims of a Docker Hub pull token; the payload needs base64url's '-' and no padding.
  const std::string payload =
      "eyJhY2Nlc3MiOlt7InR5cGUiOiJyZXBvc2l0b3J5IiwibmFtZSI6ImxpYnJhcnkvYWxwaW5lIiwiYWN0"
      "aW9ucyI6WyJwdWxsIl19XSwiYXVkIjoicmVnaXN0cnkuZG9ja2VyLmlvIiwiZXhwIjoxNzYzODAwMzAw"
      "LCJpYXQiOjE3NjM4MDAwMDAsImlzcyI6ImF1dGguZG9ja2VyLmlvIiwianRpIjoieD8-In0";
  auto expiry = bearerTokenExpiry("Bearer eyJhbGciOiJSUzI1NiJ9." + payload + ".c2lnbmF0dXJl");
  REQUIRE(expiry);
  CHECK(*expiry == std::chrono::system_clock::time_point(1763800300s));
  CHECK(bearerTokenExpiry("bearer eyJhbGciOiJSUzI1NiJ9." + payload + ".sig") == expiry);
}

TEST_CASE("tokens without a readable exp have no expiry", "[bearer_token]") {
  CHECK_FALSE(bearerTokenExpiry("Basic YWxpY2U6c2VjcmV0"));
  CHECK_FALSE(bearerTokenExpiry("Bearer opaque-token-without-dots"));
  CHECK_FALSE(bearerTokenExpiry("Bearer a.b"));
  CHECK_FALSE(bearerTokenExpiry("Bearer "));
  CHECK_FALSE(bearerTokenExpiry("Bearer"));
  // Not base64url: '+' and '/' belong to the other alphabet; a length of 4n+1 cannot be decoded.
  CHECK_FALSE(bearerTokenExpiry("Bearer h.eyJleHAiOjE3MDAwMDAwMjB9+A.s"));
  CHECK_FALSE(bearerTokenExpiry("Bearer h.eyJleHAiOjE3MDAwMDAwMjB9a.s"));
  // {"iat":1700000000}: no exp.
  CHECK_FALSE(bearerTokenExpiry("Bearer h.eyJpYXQiOjE3MDAwMDAwMDB9.s"));
  // {"exp":17638003000}: past what system_clock holds; found by fuzz_auth_challenge (UBSan).
  CHECK_FALSE(bearerTokenExpiry("Bearer h.eyJleHAiOjE3NjM4MDAzMDAwfQ.s"));
  // {"exp":"soon"} and {"exp":-5}.
  CHECK_FALSE(bearerTokenExpiry("Bearer h.eyJleHAiOiJzb29uIn0.s"));
  CHECK_FALSE(bearerTokenExpiry("Bearer h.eyJleHAiOi01fQ.s"));
}
