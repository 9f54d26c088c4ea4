#pragma once
// Gets a bearer token from a registry's token endpoint: one GET of realm?service=...&scope=...,
// with the operator's Basic credentials or with none (an anonymous token), on a connection of its
// own (the realm is often another host, e.g. auth.docker.io).
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "proxy/forward/one_shot_request.h"
#include "proxy/forward/upstream_auth/token_response.h"
#include "proxy/http/auth_challenge.h"
#include "proxy/http/target.h"
#include "proxy/net/connector.h"

namespace regcache::proxy::upstream_auth {

class TokenFetcher {
public:
  // Runs at most once, from the loop. Free the fetcher later (HandlerServices::deleteLater), not
  // inside.
  using Callback = std::function<void(Result<TokenResponse>)>;

  // The request URL built from a Bearer challenge (realm, service, scope), or an error when the
  // realm is not an http(s) URL.
  static Result<http::AbsoluteUrl> tokenUrl(const http::AuthChallenge &challenge,
                                            const std::string &scope);

  // An empty `authorization` asks for an anonymous token.
  TokenFetcher(event_base *base, net::Resolver &resolver, net::ConnectSettings settings,
               std::chrono::milliseconds timeout, http::AbsoluteUrl url, std::string authorization,
               std::string logPrefix, Callback callback);

  void start() { request_->start(); }

private:
  void onAnswer(Result<OneShotResponse> answer);

  std::string authority_;
  std::string logPrefix_;
  Callback callback_;
  std::unique_ptr<OneShotRequest> request_;
};

} // namespace regcache::proxy::upstream_auth
