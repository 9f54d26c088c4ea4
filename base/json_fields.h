#pragma once
// Single fields of small, flat JSON documents from peers (a token endpoint's answer, a JWT's
// claims), read without a JSON library: the first `"key": value` wherever it appears. Enough for
// documents whose interesting keys are unique; not a validating parser.
#include <optional>
#include <string>
#include <string_view>

namespace regcache {

// The value of "key" if it is a string of printable ASCII (escapes other than \uXXXX resolved).
std::optional<std::string> jsonStringField(std::string_view json, std::string_view key);

// The value of "key" if it is an integer.
std::optional<long long> jsonIntegerField(std::string_view json, std::string_view key);

} // namespace regcache
