#include "app/registry_client.h"

#include "proxy/forward/upstream_auth/token_fetcher.h"
#include "proxy/forward/upstream_auth/token_response.h"
#include "proxy/http/auth_challenge.h"

namespace regcache::app {
namespace {

namespace http = proxy::http;

constexpr int kMaxRedirects = 5;
constexpr std::size_t kMaxTokenAnswer = 64 * 1024;

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Location may be absolute or a path on the same server.
Result<http::AbsoluteUrl> resolveLocation(const http::AbsoluteUrl &from,
                                          std::string_view location) {
  if (!location.empty() && location.front() == '/') {
    http::AbsoluteUrl next = from;
    next.pathAndQuery = std::string(location);
    return next;
  }
  auto next = http::parseAbsoluteUrl(location);
  if (!next || (next->scheme != "https" && next->scheme != "http")) {
    return fail(Error::kUpstream, "redirect to an unusable Location");
  }
  return next;
}

} // namespace

std::string RegistryClient::tokenFor(const std::string &scopeKey) {
  std::lock_guard lock(mutex_);
  auto found = tokens_.find(scopeKey);
  return found == tokens_.end() ? std::string() : found->second;
}

Result<std::string> RegistryClient::fetchToken(const std::string &challengeHeader,
                                               const std::string &scope) {
  for (const auto &challenge : http::parseAuthChallenges(challengeHeader)) {
    if (challenge.scheme != "bearer") continue;
    auto url = proxy::upstream_auth::TokenFetcher::tokenUrl(challenge, scope);
    if (!url) return url.failure();
    http::Headers headers;
    headers.add("Accept", "application/json");
    auto answer = httpGet(settings_, *url, headers, kMaxTokenAnswer, kMaxTokenAnswer);
    if (!answer) return fail(answer.failure().code, "token: " + answer.failure().detail);
    if (answer->status != 200) {
      return fail(Error::kUpstream,
                  "the token endpoint answered " + std::to_string(answer->status));
    }
    auto token = proxy::upstream_auth::parseTokenResponse(answer->body);
    if (!token || token->token.empty()) {
      return fail(Error::kUpstream, "the token endpoint sent no token");
    }
    return "Bearer " + token->token;
  }
  return fail(Error::kPolicy, "the registry wants credentials (no Bearer challenge)");
}

Result<HttpGetResponse> RegistryClient::get(const ImageReference &image, const std::string &kind,
                                            const std::string &reference, const std::string &accept,
                                            std::size_t keepBody, std::uint64_t maxBody,
                                            const std::function<void(std::uint64_t)> &onBytes) {
  auto origin = http::parseAbsoluteUrl("https://" + image.endpoint() + "/v2/" + image.repository +
                                       "/" + kind + "/" + reference);
  if (!origin) return fail(Error::kInvalidInput, "bad registry address " + image.endpoint());
  const std::string scopeKey = image.endpoint() + " " + image.repository;
  const std::string scope = "repository:" + image.repository + ":pull";
  http::AbsoluteUrl url = *origin;
  bool retriedAuth = false;
  for (int hop = 0; hop <= kMaxRedirects;) {
    http::Headers headers;
    if (!accept.empty()) headers.add("Accept", accept);
    bool sameHost = url.authority.host == origin->authority.host &&
                    url.authority.port == origin->authority.port;
    std::string token = sameHost ? tokenFor(scopeKey) : std::string();
    if (!token.empty()) headers.add("Authorization", token);
    auto answer = httpGet(settings_, url, headers, keepBody, maxBody, onBytes);
    if (!answer) return answer.failure();
    if (answer->status == 401 && sameHost && !retriedAuth) {
      retriedAuth = true;
      auto challenge = answer->headers.get("WWW-Authenticate");
      if (!challenge) return fail(Error::kPolicy, "401 without a WWW-Authenticate challenge");
      auto fresh = fetchToken(std::string(*challenge), scope);
      if (!fresh) return fresh.failure();
      std::lock_guard lock(mutex_);
      tokens_[scopeKey] = *fresh;
      continue;
    }
    if (isRedirect(answer->status)) {
      auto location = answer->headers.get("Location");
      if (!location) return fail(Error::kUpstream, "redirect without a Location");
      auto next = resolveLocation(url, *location);
      if (!next) return next.failure();
      url = std::move(*next);
      ++hop;
      continue;
    }
    if (answer->status != 200) {
      std::string why = answer->status == 404 ? " (not found)" : "";
      return fail(answer->status == 404 ? Error::kNotFound : Error::kUpstream,
                  kind.substr(0, kind.size() - 1) + " " + reference + ": HTTP " +
                      std::to_string(answer->status) + why);
    }
    return answer;
  }
  return fail(Error::kUpstream, "too many redirects");
}

} // namespace regcache::app
