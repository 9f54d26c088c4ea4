#include "proxy/forward/one_shot_request.h"

namespace regcache::proxy {

OneShotRequest::OneShotRequest(event_base *base, net::Resolver &resolver,
                               net::ConnectSettings settings, std::chrono::milliseconds timeout,
                               std::string method, http::AbsoluteUrl url, http::Headers headers,
                               std::string what, Callback callback)
    : base_(base), resolver_(resolver), settings_(std::move(settings)), timeout_(timeout),
      method_(std::move(method)), url_(std::move(url)), headers_(std::move(headers)),
      what_(std::move(what)), callback_(std::move(callback)) {}

OneShotRequest::~OneShotRequest() = default;

void OneShotRequest::start() {
  net::Endpoint endpoint{url_.authority.host, url_.authority.port, url_.scheme == "https"};
  connector_ = std::make_unique<net::Connector>(
      base_, resolver_, settings_, endpoint, "",
      [this](Result<net::Connector::Connection> c) { onConnected(std::move(c)); });
  connector_->start();
}

void OneShotRequest::onConnected(Result<net::Connector::Connection> connection) {
  if (!connection.ok()) {
    finish(fail(Error::kUpstream, what_ + ": " + connection.failure().detail));
    return;
  }
  bev_ = std::move(connection.value().bev);
  bufferevent_setcb(bev_.get(), &OneShotRequest::onRead, nullptr, &OneShotRequest::onEvent, this);
  timeval timeout{static_cast<time_t>(timeout_.count() / 1000),
                  static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  bufferevent_set_timeouts(bev_.get(), &timeout, &timeout);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  parser_.emplace(limits_, static_cast<http::ResponseSink &>(*this));
  parser_->expectResponseTo(method_);
  http::RequestHead head;
  head.method = method_;
  head.target = url_.pathAndQuery;
  head.headers = std::move(headers_);
  head.headers.set("Host",
                   http::formatAuthority(url_.authority, url_.scheme == "https" ? 443 : 80));
  head.headers.set("Connection", "close");
  std::string serialized = http::serializeRequestHead(head);
  evbuffer_add(bufferevent_get_output(bev_.get()), serialized.data(), serialized.size());
}

void OneShotRequest::onRead(bufferevent *, void *arg) noexcept {
  static_cast<OneShotRequest *>(arg)->readResponse();
}

void OneShotRequest::onEvent(bufferevent *, short what, void *arg) noexcept {
  auto *self = static_cast<OneShotRequest *>(arg);
  if ((what & BEV_EVENT_EOF) != 0) {
    self->readResponse();
    if (!self->finished_ && self->parser_ && self->parser_->finishOnEof()) self->onResponseEnd();
    if (!self->finished_) self->readResponse();
    if (!self->finished_) self->finish(fail(Error::kUpstream, self->what_ + " closed early"));
    return;
  }
  self->finish(
      fail(Error::kUpstream,
           self->what_ + ((what & BEV_EVENT_TIMEOUT) != 0 ? " timed out" : " connection failed")));
}

void OneShotRequest::readResponse() {
  evbuffer *in = bufferevent_get_input(bev_.get());
  while (!finished_ && !ended_) {
    evbuffer_iovec vec{};
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) <= 0 || vec.iov_len == 0) break;
    auto result = parser_->feed({static_cast<const char *>(vec.iov_base), vec.iov_len});
    evbuffer_drain(in, result.consumed);
    if (finished_) return;
    if (result.status == http::ParseStatus::kError ||
        result.status == http::ParseStatus::kUpgrade) {
      finish(fail(Error::kUpstream, "malformed answer from the " + what_));
      return;
    }
    if (result.status == http::ParseStatus::kPaused) break;
  }
  if (ended_ && !finished_ && response_) finish(std::move(*response_));
}

void OneShotRequest::onResponseHead(http::ResponseHead &&head) {
  if (head.status < 200) return; // interim
  response_.emplace();
  response_->head = std::move(head);
}

void OneShotRequest::onResponseBody(std::string_view data) {
  if (!response_) return;
  if (response_->body.size() + data.size() > kMaxBody) {
    finish(fail(Error::kUpstream, "the " + what_ + "'s answer is too large"));
    return;
  }
  response_->body.append(data);
}

void OneShotRequest::onResponseEnd() {
  if (response_) ended_ = true;
}

void OneShotRequest::finish(Result<OneShotResponse> result) {
  if (finished_) return;
  finished_ = true;
  Callback callback = std::move(callback_);
  callback(std::move(result)); // may destroy this
}

} // namespace regcache::proxy
