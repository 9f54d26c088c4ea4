#include "proxy/upstream_auth/token_response.h"

#include <cctype>
#include <charconv>

namespace regcache::proxy::upstream_auth {
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

std::optional<std::string> stringValue(std::string_view json, std::string_view key) {
  std::size_t pos = valueOf(json, key);
  if (pos == std::string_view::npos || pos >= json.size() || json[pos] != '"') return std::nullopt;
  std::string out;
  for (++pos; pos < json.size(); ++pos) {
    char c = json[pos];
    if (c == '"') return out;
    if (c == '\\') {
      if (++pos == json.size()) return std::nullopt;
      c = json[pos];
      if (c == 'u') return std::nullopt; // tokens are ASCII; an escape means something else
    }
    if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    out += c;
  }
  return std::nullopt;
}

} // namespace

std::optional<TokenResponse> parseTokenResponse(std::string_view json) {
  TokenResponse response;
  auto token = stringValue(json, "token");
  if (!token || token->empty()) token = stringValue(json, "access_token");
  if (!token || token->empty()) return std::nullopt;
  response.token = std::move(*token);
  std::size_t pos = valueOf(json, "expires_in");
  if (pos != std::string_view::npos) {
    long long seconds = 0;
    auto [end, error] = std::from_chars(json.data() + pos, json.data() + json.size(), seconds);
    if (error == std::errc() && end != json.data() + pos && seconds > 0) {
      response.expiresIn = std::chrono::seconds(seconds);
    }
  }
  return response;
}

std::string urlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

} // namespace regcache::proxy::upstream_auth
