#include "proxy/http/bearer_token.h"

#include <string>

#include "base/base64.h"
#include "base/json_fields.h"
#include "proxy/http/headers.h"

namespace regcache::proxy::http {
namespace {

// Claims are a few hundred bytes; anything far larger is not a registry token.
constexpr std::size_t kMaxPayload = 16 * 1024;

} // namespace

std::optional<std::chrono::system_clock::time_point>
bearerTokenExpiry(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() ||
      !equalsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  auto firstDot = token.find('.');
  if (firstDot == std::string_view::npos) return std::nullopt;
  auto secondDot = token.find('.', firstDot + 1);
  if (secondDot == std::string_view::npos) return std::nullopt;
  std::string_view payload = token.substr(firstDot + 1, secondDot - firstDot - 1);
  auto claims = decodeBase64Url(payload, kMaxPayload);
  if (!claims) return std::nullopt;
  auto exp = jsonIntegerField(*claims, "exp");
  // Before 1970, or past what the clock can hold (year 2262 with nanosecond ticks), is not a time
  // a registry means; taken as no expiry, so the memo's own TTL applies.
  constexpr auto kLatest = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::time_point::max().time_since_epoch())
                               .count();
  if (!exp || *exp < 0 || *exp >= kLatest) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(*exp));
}

} // namespace regcache::proxy::http
