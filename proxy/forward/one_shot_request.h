#pragma once
// One request the proxy makes on its own behalf (a bearer token, a probe of upstream), on a
// connection of its own that is closed after the answer. The answer is bounded in size and time,
// like anything a peer sends.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/event_handles.h"
#include "base/result.h"
#include "proxy/http/limits.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/http/target.h"
#include "proxy/net/connector.h"

namespace regcache::proxy {

struct OneShotResponse {
  http::ResponseHead head;
  std::string body;
};

class OneShotRequest final : private http::ResponseSink {
public:
  static constexpr std::size_t kMaxBody = 64 * 1024;

  // Runs at most once, from the loop. Free the request later (HandlerServices::deleteLater), not
  // inside.
  using Callback = std::function<void(Result<OneShotResponse>)>;

  // `headers` go out as given, plus Host and Connection: close. `what` names the peer in errors
  // ("token endpoint").
  OneShotRequest(event_base *base, net::Resolver &resolver, net::ConnectSettings settings,
                 std::chrono::milliseconds timeout, std::string method, http::AbsoluteUrl url,
                 http::Headers headers, std::string what, Callback callback);
  ~OneShotRequest() override;
  OneShotRequest(const OneShotRequest &) = delete;
  OneShotRequest &operator=(const OneShotRequest &) = delete;

  void start();

private:
  void onResponseHead(http::ResponseHead &&head) override;
  void onResponseBody(std::string_view data) override;
  void onResponseEnd() override;

  static void onRead(bufferevent *bev, void *arg) noexcept;
  static void onEvent(bufferevent *bev, short what, void *arg) noexcept;
  void onConnected(Result<net::Connector::Connection> connection);
  void readResponse();
  void finish(Result<OneShotResponse> result);

  event_base *base_;
  net::Resolver &resolver_;
  net::ConnectSettings settings_;
  std::chrono::milliseconds timeout_;
  std::string method_;
  http::AbsoluteUrl url_;
  http::Headers headers_;
  std::string what_;
  Callback callback_;
  http::Limits limits_;

  std::unique_ptr<net::Connector> connector_;
  BufferEventPtr bev_;
  std::optional<http::ResponseParser> parser_;
  std::optional<OneShotResponse> response_;
  bool ended_ = false;
  bool finished_ = false;
};

} // namespace regcache::proxy
