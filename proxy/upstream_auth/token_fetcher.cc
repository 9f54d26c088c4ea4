#include "proxy/upstream_auth/token_fetcher.h"

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
    : base_(base), resolver_(resolver), settings_(settings), timeout_(timeout),
      url_(std::move(url)), authorization_(std::move(authorization)),
      logPrefix_(std::move(logPrefix)), callback_(std::move(callback)) {}

TokenFetcher::~TokenFetcher() = default;

void TokenFetcher::start() {
  net::Endpoint endpoint{url_.authority.host, url_.authority.port, url_.scheme == "https"};
  connector_ = std::make_unique<net::Connector>(
      base_, resolver_, settings_, endpoint, logPrefix_,
      [this](Result<net::Connector::Connection> c) { onConnected(std::move(c)); });
  connector_->start();
}

void TokenFetcher::onConnected(Result<net::Connector::Connection> connection) {
  if (!connection.ok()) {
    finish(fail(Error::kUpstream, "token endpoint: " + connection.failure().detail));
    return;
  }
  bev_ = std::move(connection.value().bev);
  bufferevent_setcb(bev_.get(), &TokenFetcher::onRead, nullptr, &TokenFetcher::onEvent, this);
  timeval timeout{static_cast<time_t>(timeout_.count() / 1000),
                  static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  bufferevent_set_timeouts(bev_.get(), &timeout, &timeout);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  parser_.emplace(limits_, static_cast<http::ResponseSink &>(*this));
  parser_->expectResponseTo("GET");
  http::RequestHead head;
  head.method = "GET";
  head.target = url_.pathAndQuery;
  head.headers.add("Host",
                   http::formatAuthority(url_.authority, url_.scheme == "https" ? 443 : 80));
  head.headers.add("Authorization", authorization_);
  head.headers.add("Accept", "application/json");
  head.headers.add("Connection", "close");
  std::string serialized = http::serializeRequestHead(head);
  evbuffer_add(bufferevent_get_output(bev_.get()), serialized.data(), serialized.size());
}

void TokenFetcher::onRead(bufferevent *, void *arg) noexcept {
  static_cast<TokenFetcher *>(arg)->readResponse();
}

void TokenFetcher::onEvent(bufferevent *, short what, void *arg) noexcept {
  auto *self = static_cast<TokenFetcher *>(arg);
  if ((what & BEV_EVENT_EOF) != 0) {
    self->readResponse();
    if (!self->finished_ && self->parser_ && self->parser_->finishOnEof()) self->onResponseEnd();
    if (!self->finished_) self->finish(fail(Error::kUpstream, "token endpoint closed early"));
    return;
  }
  self->finish(fail(Error::kUpstream, (what & BEV_EVENT_TIMEOUT) != 0
                                          ? "token endpoint timed out"
                                          : "token endpoint connection failed"));
}

void TokenFetcher::readResponse() {
  evbuffer *in = bufferevent_get_input(bev_.get());
  while (!finished_ && !ended_) {
    evbuffer_iovec vec{};
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) <= 0 || vec.iov_len == 0) return;
    auto result = parser_->feed({static_cast<const char *>(vec.iov_base), vec.iov_len});
    evbuffer_drain(in, result.consumed);
    if (finished_) return;
    if (result.status == http::ParseStatus::kError ||
        result.status == http::ParseStatus::kUpgrade) {
      finish(fail(Error::kUpstream, "malformed answer from the token endpoint"));
      return;
    }
    if (result.status == http::ParseStatus::kPaused) break;
  }
  if (ended_ && !finished_) {
    if (status_ != 200) {
      finish(fail(Error::kUpstream, "the token endpoint answered " + std::to_string(status_)));
      return;
    }
    auto token = parseTokenResponse(body_);
    if (!token) {
      finish(fail(Error::kUpstream, "the token endpoint's answer holds no token"));
      return;
    }
    finish(std::move(*token));
  }
}

void TokenFetcher::onResponseHead(http::ResponseHead &&head) {
  if (head.status >= 200) status_ = head.status;
}

void TokenFetcher::onResponseBody(std::string_view data) {
  if (body_.size() + data.size() > kMaxBody) {
    finish(fail(Error::kUpstream, "the token endpoint's answer is too large"));
    return;
  }
  body_.append(data);
}

void TokenFetcher::onResponseEnd() { ended_ = true; }

void TokenFetcher::finish(Result<TokenResponse> result) {
  if (finished_) return;
  finished_ = true;
  if (!result.ok()) {
    log::proxy().warn("{} cannot get an upstream token from {}: {}", logPrefix_,
                      http::formatAuthority(url_.authority), result.failure().detail);
  }
  Callback callback = std::move(callback_);
  callback(std::move(result)); // may destroy this
}

} // namespace regcache::proxy::upstream_auth
