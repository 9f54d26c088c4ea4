#include <catch2/catch.hpp>

#include "base/json_fields.h"

using namespace regcache;

TEST_CASE("string and integer fields are read wherever the key appears", "[json_fields]") {
  std::string_view json = R"({"token" : "a\"b\\c", "nested": {"expires_in":  300}, "n": -7})";
  CHECK(jsonStringField(json, "token") == std::optional<std::string>("a\"b\\c"));
  CHECK(jsonIntegerField(json, "expires_in") == std::optional<long long>(300));
  CHECK(jsonIntegerField(json, "n") == std::optional<long long>(-7));
}

TEST_CASE("a key that is only a value, a wrong type or a broken string reads as absent",
          "[json_fields]") {
  CHECK_FALSE(jsonStringField(R"({"a": "token"})", "token"));
  CHECK_FALSE(jsonStringField(R"({"token": 5})", "token"));
  CHECK_FALSE(jsonIntegerField(R"({"exp": "5"})", "exp"));
  CHECK_FALSE(jsonStringField(R"({"token": "unterminated)", "token"));
  CHECK_FALSE(jsonStringField("{\"token\": \"a\nb\"}", "token"));
  CHECK_FALSE(jsonStringField(R"({"token": "\u0041"})", "token"));
  CHECK_FALSE(jsonIntegerField(R"({"exp":)", "exp"));
  CHECK_FALSE(jsonIntegerField(R"({"exp": 99999999999999999999})", "exp"));
}
