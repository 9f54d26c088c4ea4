#include "proxy/forward/upstream_auth/token_response.h"

#include <cctype>

#include "base/json_fields.h"

namespace regcache::proxy::upstream_auth {

std::optional<TokenResponse> parseTokenResponse(std::string_view json) {
  TokenResponse response;
  auto token = jsonStringField(json, "token");
  if (!token || token->empty()) token = jsonStringField(json, "access_token");
  if (!token || token->empty()) return std::nullopt;
  response.token = std::move(*token);
  if (auto seconds = jsonIntegerField(json, "expires_in"); seconds && *seconds > 0) {
    response.expiresIn = std::chrono::seconds(*seconds);
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
