#include "proxy/forward/upstream_auth/token_fetcher.h"

#include "base/log.h"
#include "proxy/http/message.h"

namespace regcache::proxy::upstream_auth {

Result<http::AbsoluteUrl> TokenFetcher::tokenUrl(const http::AuthChallenge &challenge,
                                                 const std::string &scope) {
  auto realm = challenge.param("realm");
  if (!realm) return fail(Error::kUpstream, "the Bearer challenge names no realm");
  auto url = http::parseAbsoluteUrl(*realm);
  if (!url.ok() || (url->scheme != "http" && url->scheme != "https")) {
    return fail(Error::kUpstream, "the token realm is not an http(s) URL");
  }
  std::string query;
  if (auto service = challenge.param("service")) query += "service=" + urlEncode(*service);
  std::string wanted = scope.empty() ? challenge.param("scope").value_or("") : scope;
  if (!wanted.empty()) query += (query.empty() ? "" : "&") + ("scope=" + urlEncode(wanted));
  if (!query.empty()) {
    url->pathAndQuery += (url->pathAndQuery.find('?') == std::string::npos ? "?" : "&") + query;
  }
  return url;
}

TokenFetcher::TokenFetcher(event_base *base, net::Resolver &resolver, net::ConnectSettings settings,
                           std::chrono::milliseconds timeout, http::AbsoluteUrl url,
                           std::string authorization, std::string logPrefix, Callback callback)
    : authority_(http::formatAuthority(url.authority)), logPrefix_(std::move(logPrefix)),
      callback_(std::move(callback)) {
  http::Headers headers;
  if (!authorization.empty()) headers.add("Authorization", std::move(authorization));
  headers.add("Accept", "application/json");
  headers.add("User-Agent", "regcache");
  request_ = std::make_unique<OneShotRequest>(
      base, resolver, std::move(settings), timeout, "GET", std::move(url), std::move(headers),
      "token endpoint", [this](Result<OneShotResponse> answer) { onAnswer(std::move(answer)); });
}

void TokenFetcher::onAnswer(Result<OneShotResponse> answer) {
  Result<TokenResponse> result = fail(Error::kUpstream, "no answer");
  if (!answer.ok()) {
    result = answer.failure();
  } else if (answer->head.status != 200) {
    result = fail(Error::kUpstream,
                  "the token endpoint answered " + std::to_string(answer->head.status));
  } else if (auto token = parseTokenResponse(answer->body)) {
    result = std::move(*token);
  } else {
    result = fail(Error::kUpstream, "the token endpoint's answer holds no token");
  }
  if (!result.ok()) {
    log::proxy().warn("{} cannot get an upstream token from {}: {}", logPrefix_, authority_,
                      result.failure().detail);
  }
  Callback callback = std::move(callback_);
  callback(std::move(result)); // may destroy this
}

} // namespace regcache::proxy::upstream_auth
