#pragma once
// The token endpoint's JSON answer (the distribution token protocol):
//   {"token": "...", "access_token": "...", "expires_in": 300, "issued_at": "..."}
// read without a JSON library: the first string value of "token" (else "access_token") and the
// integer "expires_in" (default 60 s, as the protocol says).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace regcache::proxy::upstream_auth {

struct TokenResponse {
  std::string token;
  std::chrono::seconds expiresIn{60};
};

std::optional<TokenResponse> parseTokenResponse(std::string_view json);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
std::string urlEncode(std::string_view value);

} // namespace regcache::proxy::upstream_auth
