#include <catch2/catch.hpp>

#include "app/json_value.h"

using regcache::app::JsonValue;
using regcache::app::parseJson;

TEST_CASE("JSON values parse into a tree with escapes resolved", "[warm]") {
  auto doc = parseJson(R"( {"s":"a\"b\\c\u00e9\ud83d\ude00","n":42,"big":18446744073709551615,
                          "neg":-1,"f":1.5,"t":true,"z":null,"a":[1,{"k":"v"}],"s":"last"} )");
  REQUIRE(doc.ok());
  CHECK(doc->member("s")->string() == "last"); // a repeated key: the last, as Go reads it
  CHECK(doc->member("n")->unsignedInteger() == 42u);
  CHECK(doc->member("big")->unsignedInteger() == 18446744073709551615ull);
  CHECK_FALSE(doc->member("neg")->unsignedInteger());
  CHECK_FALSE(doc->member("f")->unsignedInteger());
  CHECK(doc->member("t")->kind() == JsonValue::Kind::kBool);
  CHECK(doc->member("z")->kind() == JsonValue::Kind::kNull);
  REQUIRE(doc->member("a")->elements().size() == 2);
  CHECK(doc->member("a")->elements()[1].member("k")->string() == "v");
  CHECK(doc->member("missing") == nullptr);
  auto text = parseJson(R"("a\"b\\c\u00e9\ud83d\ude00")");
  REQUIRE(text.ok());
  CHECK(text->string() == "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("malformed JSON is an error", "[warm]") {
  for (const char *bad : {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[1 2]", "\"\x01\"", "\"abc",
                          "tru", "{\"a\":1,}", "-", "01x", "\"\\q\"", "\"\\u12\"", "{} {}"}) {
    INFO(bad);
    CHECK_FALSE(parseJson(bad).ok());
  }
}

TEST_CASE("JSON nested past the limit is refused without recursing further", "[warm]") {
  auto deep = parseJson(std::string(65, '[') + std::string(65, ']'));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.failure().code == regcache::Error::kTooLarge);
  CHECK(parseJson(std::string(60, '[') + std::string(60, ']')).ok());
}
