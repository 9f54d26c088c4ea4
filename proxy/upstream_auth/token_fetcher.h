#pragma once
// Gets a bearer token from a registry's token endpoint with the operator's account: one GET of
// realm?service=...&scope=... with Basic credentials, over a connection of its own (the realm
// is often another host, e.g. auth.docker.io). The answer is bounded in size and time.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/event_handles.h"
#include "base/result.h"
#include "proxy/http/auth_challenge.h"
#include "proxy/http/limits.h"
#include "proxy/http/parser.h"
#include "proxy/http/target.h"
#include "proxy/net/connector.h"
#include "proxy/upstream_auth/token_response.h"

namespace regcache::proxy::upstream_auth {

class TokenFetcher final : private http::ResponseSink {
public:
  // Runs at most once, from the loop. Free the fetcher later (Worker::deleteLater), not inside.
  using Callback = std::function<void(Result<TokenResponse>)>;

  // The request URL built from a Bearer challenge (realm, service, scope), or an error when the
  // realm is not an http(s) URL.
  static Result<http::AbsoluteUrl> tokenUrl(const http::AuthChallenge &challenge,
                                            const std::string &scope);

  TokenFetcher(event_base *base, net::Resolver &resolver, net::ConnectSettings settings,
               std::chrono::milliseconds timeout, http::AbsoluteUrl url, std::string authorization,
               std::string logPrefix, Callback callback);
  ~TokenFetcher() override;
  TokenFetcher(const TokenFetcher &) = delete;
  TokenFetcher &operator=(const TokenFetcher &) = delete;

  void start();

private:
  static constexpr std::size_t kMaxBody = 64 * 1024;

  void onResponseHead(http::ResponseHead &&head) override;
  void onResponseBody(std::string_view data) override;
  void onResponseEnd() override;

  static void onRead(bufferevent *bev, void *arg) noexcept;
  static void onEvent(bufferevent *bev, short what, void *arg) noexcept;
  void onConnected(Result<net::Connector::Connection> connection);
  void readResponse();
  void finish(Result<TokenResponse> result);

  event_base *base_;
  net::Resolver &resolver_;
  net::ConnectSettings settings_;
  std::chrono::milliseconds timeout_;
  http::AbsoluteUrl url_;
  std::string authorization_;
  std::string logPrefix_;
  Callback callback_;
  http::Limits limits_;

  std::unique_ptr<net::Connector> connector_;
  BufferEventPtr bev_;
  std::optional<http::ResponseParser> parser_;
  int status_ = 0;
  std::string body_;
  bool ended_ = false;
  bool finished_ = false;
};

} // namespace regcache::proxy::upstream_auth
