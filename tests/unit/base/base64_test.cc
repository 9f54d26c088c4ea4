#include <catch2/catch.hpp>

#include "base/base64.h"

using namespace regcache;

TEST_CASE("base64 decoding of Basic credentials", "[base64]") {
  CHECK(decodeBase64("YWxpY2U6czNjcmV0") == "alice:s3cret");
  CHECK(decodeBase64("YQ==") == "a");
  CHECK(decodeBase64("YWI=") == "ab");
  CHECK_FALSE(decodeBase64(""));
  CHECK_FALSE(decodeBase64("YWJ"));
  CHECK_FALSE(decodeBase64("Y===")); // three pad characters
  CHECK_FALSE(decodeBase64("@@@@"));
  CHECK_FALSE(decodeBase64("YWxpY2U6czNjcmV0", 12)); // longer than allowed
}

TEST_CASE("base64 encoding round-trips", "[base64]") {
  CHECK(encodeBase64("alice:s3cret") == "YWxpY2U6czNjcmV0");
  CHECK(encodeBase64("a") == "YQ==");
  CHECK(decodeBase64(encodeBase64(std::string("\0\xff\x10", 3))) == std::string("\0\xff\x10", 3));
}

TEST_CASE("base64url without padding, as JWTs carry it", "[base64]") {
  CHECK(decodeBase64Url("eyJleHAiOjE3MDAwMDAwMjB9") == R"({"exp":1700000020})");
  CHECK(decodeBase64Url("YQ") == "a");
  CHECK(decodeBase64Url("-_8") == "\xfb\xff");
  CHECK_FALSE(decodeBase64Url("YQ=="));  // padding is not part of the alphabet
  CHECK_FALSE(decodeBase64Url("+/8A"));  // the standard alphabet's characters either
  CHECK_FALSE(decodeBase64Url("YWJjZ")); // 4n+1 characters cannot be decoded
}
