#include "base/json_fields.h"

#include <cctype>
#include <charconv>

namespace regcache {
namespace {

std::size_t skipSpace(std::string_view json, std::size_t pos) {
  while (pos < json.size() && std::isspace(static_cast<unsigned char>(json[pos])) != 0)
    ++pos;
  return pos;
}

// The position just after `"key"` and its colon, or npos.
std::size_t valueOf(std::string_view json, std::string_view key) {
  std::string quoted = "\"" + std::string(key) + "\"";
  for (auto at = json.find(quoted); at != std::string_view::npos; at = json.find(quoted, at + 1)) {
    std::size_t pos = skipSpace(json, at + quoted.size());
    if (pos < json.size() && json[pos] == ':') return skipSpace(json, pos + 1);
  }
  return std::string_view::npos;
}

} // namespace

std::optional<std::string> jsonStringField(std::string_view json, std::string_view key) {
  std::size_t pos = valueOf(json, key);
  if (pos == std::string_view::npos || pos >= json.size() || json[pos] != '"') return std::nullopt;
  std::string out;
  for (++pos; pos < json.size(); ++pos) {
    char c = json[pos];
    if (c == '"') return out;
    if (c == '\\') {
      if (++pos == json.size()) return std::nullopt;
      c = json[pos];
      if (c == 'u') return std::nullopt; // the values read here are ASCII; \u means something else
    }
    if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    out += c;
  }
  return std::nullopt;
}

std::optional<long long> jsonIntegerField(std::string_view json, std::string_view key) {
  std::size_t pos = valueOf(json, key);
  if (pos == std::string_view::npos) return std::nullopt;
  long long value = 0;
  auto [end, error] = std::from_chars(json.data() + pos, json.data() + json.size(), value);
  if (error != std::errc() || end == json.data() + pos) return std::nullopt;
  return value;
}

} // namespace regcache
