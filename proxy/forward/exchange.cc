#include "proxy/forward/exchange.h"

#include <algorithm>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "base/log.h"
#include "proxy/forward/redirect.h"
#include "proxy/handler_services.h"
#include "proxy/http/forwarding.h"
#include "proxy/http/headers.h"
#include "proxy/http/target.h"
#include "proxy/net/tls_contexts.h"

namespace regcache::proxy {
namespace {

constexpr std::size_t kMaxSingleRead = 256 * 1024;
// Upstream input up to this size is made one piece before it is parsed (feedResponse).
constexpr std::size_t kPullUpMost = 64 * 1024;

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

std::string lowercase(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A request that carries a body: it cannot be sent again on another connection (a redirect,
// a retry), since its bytes stream through once.
bool hasBody(const http::RequestHead &request) {
  return request.chunked || request.contentLength.value_or(0) > 0;
}

} // namespace

Exchange::Exchange(ClientSide &client, http::RequestHead request, net::Endpoint endpoint,
                   std::string originTarget, std::unique_ptr<ExchangeTap> tap)
    : client_(&client), request_(std::move(request)),
      endpoint_(std::move(endpoint)), poolKey_{endpoint_.tls, lowercase(endpoint_.host),
                                               endpoint_.port},
      originTarget_(std::move(originTarget)), pendingBody_(evbuffer_new()) {
  clientKeepAlive_ = request_.keepAlive;
  record_ = startAccessRecord(
      *client_, request_.method,
      http::formatAuthority(http::HostPort{endpoint_.host, endpoint_.port,
                                           endpoint_.host.find(':') != std::string::npos},
                            endpoint_.tls ? 443 : 80),
      originTarget_);
  tap_ = std::move(tap);
  registryEndpoint_ = endpoint_;
  operatorAccount_ = OperatorAccount::choose(client_->services(), endpoint_, poolKey_.host,
                                             originTarget_, request_.headers.has("Authorization"));
}

Exchange::~Exchange() { abandonTap(); }

void Exchange::abandonTap() {
  if (tap_) tap_->abandon();
}

void Exchange::servesMirror() {
  mirror_ = true;
  record_.note = "mirror";
  operatorAccount_.orAnonymous(endpoint_, poolKey_.host, originTarget_);
}

void Exchange::start() { connect(true); }

void Exchange::connect(bool allowPooled) {
  state_ = State::kConnecting;
  HandlerServices &services = client_->services();
  if (allowPooled) {
    if (BufferEventPtr pooled = services.pool().take(poolKey_)) {
      reusedConnection_ = true;
      log::proxy().debug("{} reusing a pooled connection to {}", client_->logPrefix(),
                         poolKey_.toString());
      attachUpstream(std::move(pooled));
      sendRequestHead();
      return;
    }
  }
  reusedConnection_ = false;
  connector_ = std::make_unique<net::Connector>(
      services.base(), services.resolver(), services.upstreamConnectSettings(endpoint_.host),
      endpoint_, client_->logPrefix(),
      [this](Result<net::Connector::Connection> c) { onConnected(std::move(c)); });
  connector_->start();
}

void Exchange::onConnected(Result<net::Connector::Connection> connection) {
  client_->services().deleteLater(std::move(connector_));
  if (!connection.ok() && connection.failure().code == Error::kPolicy) {
    failUpstream(403, connection.failure().detail, UpstreamError::kRefused);
    return;
  }
  if (!connection.ok()) {
    Error code = connection.failure().code;
    failUpstream(502, connection.failure().detail,
                 code == Error::kDns       ? UpstreamError::kDns
                 : code == Error::kTls     ? UpstreamError::kTls
                 : code == Error::kTimeout ? UpstreamError::kTimeout
                                           : UpstreamError::kConnect);
    return;
  }
  log::proxy().debug("{} connected to {} ({})", client_->logPrefix(), poolKey_.toString(),
                     connection->peer.toString());
  attachUpstream(std::move(connection.value().bev));
  sendRequestHead();
}

void Exchange::attachUpstream(BufferEventPtr bev) {
  upstream_ = std::move(bev);
  const ServerOptions &options = client_->services().options();
  bufferevent_setcb(upstream_.get(), &Exchange::onUpstreamRead, &Exchange::onUpstreamWrite,
                    &Exchange::onUpstreamEvent, this);
  bufferevent_setwatermark(upstream_.get(), EV_WRITE, options.relayHighWatermark / 2, 0);
  // Larger reads than libevent's 16 KiB default cut per-callback overhead on big blobs.
  bufferevent_set_max_single_read(upstream_.get(), kMaxSingleRead);
  timeval timeout = toTimeval(options.upstreamTimeout);
  bufferevent_set_timeouts(upstream_.get(), &timeout, &timeout);
  if (tap_ && tap_->fills()) applyFillStallTimeout();
  bufferevent_enable(upstream_.get(), EV_WRITE);
  upstreamGate_.attach(upstream_.get());
  responseEnded_ = false;
  parser_.emplace(options.limits, static_cast<http::ResponseSink &>(*this));
  parser_->expectResponseTo(revalidating() ? "HEAD" : request_.method);
  state_ = State::kAwaitingResponse;
}

void Exchange::sendRequestHead() {
  // Framed by the proxy alone: Host names the upstream it connects to, and the body's length
  // is what the client's request parsed to, so nothing in the client's fields can make
  // upstream read a different request than the one the proxy judged.
  http::RequestHead head = http::upstreamRequestHead(
      request_,
      http::UpstreamTarget{
          revalidating() ? "HEAD" : request_.method, originTarget_,
          http::formatAuthority(http::HostPort{endpoint_.host, endpoint_.port,
                                               endpoint_.host.find(':') != std::string::npos},
                                endpoint_.tls ? 443 : 80)});
  if (usesOperatorAccount()) {
    if (auto authorization = operatorAccount_.authorization(client_->services())) {
      head.headers.set("Authorization", *authorization);
    }
  }
  chunkedToUpstream_ = head.chunked;
  std::string serialized = http::serializeRequestHead(head);
  evbuffer *out = bufferevent_get_output(upstream_.get());
  evbuffer_add(out, serialized.data(), serialized.size());
  evbuffer_add_buffer(out, pendingBody_.get());
}

void Exchange::writeUpstream(std::string_view data) {
  evbuffer *out = (upstream_ && state_ != State::kConnecting)
                      ? bufferevent_get_output(upstream_.get())
                      : pendingBody_.get();
  evbuffer_add(out, data.data(), data.size());
  if (evbuffer_get_length(out) > client_->services().options().relayHighWatermark &&
      !clientReadsPaused_) {
    clientReadsPaused_ = true;
    client_->pauseClientReads(true);
  }
}

void Exchange::onRequestBody(std::string_view data) {
  if (state_ == State::kDone || state_ == State::kFailed || data.empty()) return;
  requestBodyStarted_ = true;
  if (request_.chunked) {
    writeUpstream(http::chunkHeader(data.size()));
    writeUpstream(data);
    writeUpstream(http::kChunkTrailer);
  } else {
    writeUpstream(data);
  }
}

void Exchange::onRequestEnd() {
  requestComplete_ = true;
  if (state_ == State::kDone || state_ == State::kFailed) return;
  if (request_.chunked) writeUpstream(http::kLastChunk);
}

void Exchange::onUpstreamWrite(bufferevent *, void *arg) noexcept {
  auto *self = static_cast<Exchange *>(arg);
  if (self->clientReadsPaused_ && self->state_ != State::kDone && self->state_ != State::kFailed) {
    self->clientReadsPaused_ = false;
    self->client_->pauseClientReads(false);
  }
}

void Exchange::onUpstreamRead(bufferevent *, void *arg) noexcept {
  static_cast<Exchange *>(arg)->feedResponse();
}

void Exchange::onUpstreamEvent(bufferevent *, short what, void *arg) noexcept {
  static_cast<Exchange *>(arg)->handleUpstreamEvent(what);
}

void Exchange::feedResponse() {
  if (!upstream_) return;
  evbuffer *in = bufferevent_get_input(upstream_.get());
  // bufferevent_openssl reads a record into the end of one chain and the start of the next:
  // parsed chain by chain, each record would reach the client (and the store) as two pieces,
  // two TLS records and two write(2). A turn's few KiB are cheaper to copy into one.
  if (std::size_t length = evbuffer_get_length(in);
      length <= kPullUpMost && evbuffer_peek(in, -1, nullptr, nullptr, 0) > 1) {
    evbuffer_pullup(in, -1);
  }
  while (state_ == State::kAwaitingResponse || state_ == State::kStreamingResponse) {
    if (upstreamGate_.paused(net::ReadGate::kSinkFull)) return;
    if (upstreamGate_.paused(net::ReadGate::kStoreBusy)) return;
    evbuffer_iovec vec{};
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) <= 0 || vec.iov_len == 0) break;
    auto result = parser_->feed({static_cast<const char *>(vec.iov_base), vec.iov_len});
    evbuffer_drain(in, result.consumed);
    if (state_ != State::kAwaitingResponse && state_ != State::kStreamingResponse) return;
    switch (result.status) {
    case http::ParseStatus::kNeedMore: break;
    case http::ParseStatus::kPaused: finishResponse(); return;
    case http::ParseStatus::kUpgrade:
      failUpstream(502, "upstream switched protocols, which the proxy does not relay",
                   UpstreamError::kProtocol);
      return;
    case http::ParseStatus::kError:
      failUpstream(502,
                   std::string("malformed response from upstream: ") +
                       http::describe(parser_->error()) + " (" +
                       std::string(parser_->errorReason()) + ")",
                   UpstreamError::kProtocol);
      return;
    }
  }
  if (upstreamEof_ && evbuffer_get_length(in) == 0) {
    if (parser_->finishOnEof()) {
      finishResponse();
    } else if (retryable()) {
      retried_ = true;
      log::proxy().debug("{} pooled connection to {} was closed; retrying on a new one",
                         client_->logPrefix(), poolKey_.toString());
      upstreamGate_.attach(nullptr);
      upstream_.reset();
      upstreamEof_ = false;
      connect(false);
    } else {
      failUpstream(502, "upstream closed the connection mid-response", UpstreamError::kProtocol);
    }
  }
}

void Exchange::handleUpstreamEvent(short what) {
  if (state_ == State::kDone || state_ == State::kFailed) return;
  if (what & BEV_EVENT_EOF) {
    upstreamEof_ = true;
    feedResponse();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (((tap_ && tap_->fills()) || feed_) && client_->services().options().fillStallTimeout <
                                                  client_->services().options().upstreamTimeout) {
      // Followers are told at once (kFailed): those not answered yet fetch on their own. A fill
      // already streaming is failed by failUpstream, through the fill's end of the fetch.
      abandonTap();
      failUpstream(504,
                   "fill stalled: no byte from upstream " + poolKey_.toString() +
                       " within --fill-stall-timeout; abandoned",
                   UpstreamError::kTimeout);
      return;
    }
    failUpstream(504, "upstream " + poolKey_.toString() + " timed out", UpstreamError::kTimeout);
    return;
  }
  std::string reason = evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
  UpstreamError kind = UpstreamError::kConnect;
  if (endpoint_.tls) {
    std::string tlsErrors = net::bufferEventTlsErrors(upstream_.get());
    if (!tlsErrors.empty()) {
      reason = tlsErrors;
      kind = UpstreamError::kTls;
    }
  }
  if (retryable()) {
    retried_ = true;
    log::proxy().debug("{} pooled connection to {} failed ({}); retrying on a new one",
                       client_->logPrefix(), poolKey_.toString(), reason);
    upstreamGate_.attach(nullptr);
    upstream_.reset();
    connect(false);
    return;
  }
  failUpstream(502, "connection to upstream " + poolKey_.toString() + " failed: " + reason, kind);
}

bool Exchange::retryable() const {
  // A pooled connection may have been closed by the upstream just as it was reused. Replaying is
  // safe only for a bodiless GET or HEAD that has seen no byte of response.
  return reusedConnection_ && !retried_ && !responseHeadSent_ && !requestBodyStarted_ &&
         (request_.method == "GET" || request_.method == "HEAD") &&
         !(parser_ && parser_->midMessage());
}

void Exchange::onResponseHead(http::ResponseHead &&head) {
  if (head.status < 200) {
    if (head.status == 101) return; // reported as kUpgrade by the parser, refused there
    if (request_.versionMinor >= 1) {
      (void)http::frameResponseForClient(head, true, true);
      std::string interim = http::serializeResponseHead(head);
      evbuffer_add(client_->clientOutput(), interim.data(), interim.size());
      // Interim heads are bytes for the client like any other (the parser bounds their count):
      // a client that does not read stalls upstream reads.
      if (client_->clientOutputFull()) upstreamGate_.pause(net::ReadGate::kSinkFull);
    }
    return;
  }
  state_ = State::kStreamingResponse;
  record_.status = head.status;
  record_.upstreamStatus = head.status;
  responseKeepAlive_ = head.keepAlive;
  Metrics &metrics = client_->services().metrics();
  metrics.observeUpstreamFirstByte(std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - record_.started));
  if (auto remaining = head.headers.get("RateLimit-Remaining")) {
    metrics.noteRateLimit(record_.host, *remaining);
  }
  if (head.status >= 500) metrics.countUpstreamError(UpstreamError::kStatus5xx);
  if (head.status == 429) metrics.countUpstreamError(UpstreamError::kStatus429);
  if (tap_ && (head.status >= 500 || head.status == 429) &&
      serveStale("upstream answered " + std::to_string(head.status))) {
    return;
  }
  if ((head.status >= 500 || head.status == 429) && canAnswerPing()) {
    // A registry that is down behind its front server, or rate-limiting, fails the ping that
    // clients send before every pull: answering it here lets them reach the cached content.
    state_ = State::kFailed; // the upstream connection is left for the destructor
    upstreamGate_.pause(net::ReadGate::kSinkFull);
    answerPingOffline("upstream answered " + std::to_string(head.status));
    return;
  }
  if (head.status == 401 && canRetryWithOperatorAccount()) {
    for (auto &challenge :
         http::parseAuthChallenges(head.headers.get("WWW-Authenticate").value_or(""))) {
      bool usable = operatorAccount_.mayAnswer(challenge, client_->logPrefix());
      if (usable && (!authChallenge_ || challenge.scheme == "bearer")) authChallenge_ = challenge;
    }
    if (authChallenge_) return; // answered at the end of this response, its body dropped
  }
  bool redirect = head.status == 301 || head.status == 302 || head.status == 303 ||
                  head.status == 307 || head.status == 308;
  TapVerdict verdict = tap_ ? tap_->judge(TapHead{request_.method, head.status,
                                                  redirect && head.headers.has("Location"),
                                                  !hasBody(request_), redirects_ < kMaxRedirects})
                            : TapVerdict::kPass;
  if (verdict == TapVerdict::kFollowRedirect) {
    // A registry may send a blob's HEAD on to storage, and blob GETs to a CDN with a presigned
    // URL: the proxy follows, so the storage's answer decides and the cache keys the blob on its
    // digest, never on the URL.
    if (revalidating() && !registryRequest_) {
      registryRequest_ = request_;
      registryTarget_ = originTarget_;
    }
    redirectTo_ = std::string(*head.headers.get("Location"));
    return;
  }
  if (verdict == TapVerdict::kConfirmation) {
    confirmed_ = tap_->confirms(head, redirects_); // acted on at the end of the bodiless response
    return;
  }
  if (tap_) tap_->onHead(*client_, request_.method, head, redirects_, record_, registryEndpoint_);
  bool noBody = request_.method == "HEAD" || head.status == 204 || head.status == 304;
  http::ResponseHead out = std::move(head);
  // Framed from what the parser read, never from upstream's fields: a response that names
  // Content-Length in Connection still reaches the client with its length.
  switch (http::frameResponseForClient(out, noBody, request_.versionMinor >= 1)) {
  case http::ClientFraming::kChunked: chunkedToClient_ = true; break;
  case http::ClientFraming::kClose:
    clientKeepAlive_ = false; // an HTTP/1.0 client learns the end from the close
    break;
  case http::ClientFraming::kNone:
  case http::ClientFraming::kLength: lengthToClient_ = out.contentLength; break;
  }
  bool filling = verdict == TapVerdict::kFill;
  if (filling) tap_->markFill(out, record_);
  if (!clientKeepAlive_) out.headers.set("Connection", "close");
  std::string serialized = http::serializeResponseHead(out);
  responseHeadSent_ = true;
  if (filling && tap_->takeBody(*this, out, serialized)) return; // it belongs to the fill now
  evbuffer_add(client_->clientOutput(), serialized.data(), serialized.size());
}

void Exchange::onResponseBody(std::string_view data) {
  if (redirectTo_ || authChallenge_) return; // not for the client: the proxy acts on it
  if (feed_ != nullptr) {
    feed_->append(data); // the fill's readers get it, the client that asked included
    return;
  }
  evbuffer *out = client_->clientOutput();
  if (chunkedToClient_) {
    std::string header = http::chunkHeader(data.size());
    evbuffer_add(out, header.data(), header.size());
    evbuffer_add(out, data.data(), data.size());
    evbuffer_add(out, http::kChunkTrailer.data(), http::kChunkTrailer.size());
  } else if (lengthToClient_ && record_.bytesSent + data.size() >= *lengthToClient_) {
    // The last bytes go through the output, written a loop turn later: by then the response is
    // counted and its session waits for the next request, which the client may send (or ask
    // /metrics about on another connection) the moment it has them.
    evbuffer_add(out, data.data(), data.size());
  } else {
    // Written at once when the client has kept up: no write event armed and disarmed per piece.
    client_->sendToClient({}, data);
  }
  record_.bytesSent += data.size();
  if (client_->clientOutputFull()) upstreamGate_.pause(net::ReadGate::kSinkFull);
}

void Exchange::onResponseEnd() { responseEnded_ = true; }

void Exchange::onClientDrained() {
  if (!upstreamGate_.paused(net::ReadGate::kSinkFull)) return;
  upstreamGate_.resume(net::ReadGate::kSinkFull);
  feedResponse();
}

void Exchange::finishResponse() {
  if (redirectTo_) {
    followRedirect();
    return;
  }
  if (authChallenge_) {
    retryWithOperatorAccount();
    return;
  }
  if (confirmed_) {
    finishRevalidation();
    return;
  }
  if (feed_ != nullptr) {
    // The body is read whole: the connection goes back to the pool, and the fill verifies,
    // commits and indexes what it stored, then completes its readers.
    state_ = State::kDone;
    releaseUpstream();
    feed_->onFetchComplete();
    return;
  }
  finish();
}

void Exchange::finish() {
  if (chunkedToClient_) {
    evbuffer_add(client_->clientOutput(), http::kLastChunk.data(), http::kLastChunk.size());
  }
  state_ = State::kDone;
  abandonTap(); // nothing was stored (a 404, say): followers fetch
  releaseUpstream();
  logOnce();
  client_->onResponseComplete(clientKeepAlive_);
}

void Exchange::failUpstream(int status, const std::string &reason, UpstreamError kind) {
  client_->services().metrics().countUpstreamError(kind);
  state_ = State::kFailed;
  upstreamGate_.attach(nullptr);
  upstream_.reset();
  if (connector_) client_->services().deleteLater(std::move(connector_));
  log::proxy().warn("{} {} {}{}: {}", client_->logPrefix(), request_.method, poolKey_.toString(),
                    originTarget_, reason);
  record_.note = reason;
  if (responseHeadSent_) {
    logOnce();
    client_->abortClient(reason);
    return;
  }
  // A target the policy refuses is not "upstream down": nothing cached stands in for it.
  if (kind != UpstreamError::kRefused && serveStale(reason)) return;
  if (kind != UpstreamError::kRefused && answerPingOffline(reason)) return;
  record_.status = status;
  std::string response =
      http::simpleResponse(status, http::reasonPhrase(status), "regcache: " + reason + "\n");
  evbuffer_add(client_->clientOutput(), response.data(), response.size());
  logOnce();
  client_->onResponseComplete(false);
}

void Exchange::onClientClosed() {
  if (state_ != State::kDone && state_ != State::kFailed) {
    state_ = State::kFailed;
    if (record_.note.empty()) record_.note = "client closed";
    logOnce();
  }
  upstreamGate_.attach(nullptr);
  upstream_.reset();
  if (connector_) client_->services().deleteLater(std::move(connector_));
  operatorAccount_.cancel(client_->services());
}

void Exchange::feedInto(BodySink &sink, ClientSide &fetchEnd) {
  logged_ = true; // the client's reader writes the access line
  feed_ = &sink;
  client_ = &fetchEnd;
}

void Exchange::holdUpstream(net::ReadGate::Reason why, bool held) {
  if (held) {
    upstreamGate_.pause(why);
    return;
  }
  if (!upstreamGate_.paused(why)) return;
  upstreamGate_.resume(why);
  // Bytes already buffered raise no new read event: ask for one.
  if (upstream_ && !upstreamGate_.paused()) {
    bufferevent_trigger(upstream_.get(), EV_READ, BEV_TRIG_DEFER_CALLBACKS);
  }
}

void Exchange::applyFillStallTimeout() {
  const ServerOptions &options = client_->services().options();
  if (!upstream_ || options.fillStallTimeout >= options.upstreamTimeout) return;
  timeval stall = toTimeval(options.fillStallTimeout);
  bufferevent_set_timeouts(upstream_.get(), &stall, &stall);
}

bool Exchange::serveStale(const std::string &why) {
  if (!tap_ || responseHeadSent_ || !tap_->coversFailure()) return false;
  std::unique_ptr<RequestHandler> stale = tap_->answerForFailure(
      *client_, request_, record_.host, poolKey_.toString() + " " + originTarget_, why);
  if (!stale) return false;
  // The upstream connection is left for the destructor: this may run inside its read callback.
  state_ = State::kFailed;
  upstreamGate_.pause(net::ReadGate::kSinkFull);
  logged_ = true; // the cache handler writes the access line
  abandonTap();
  client_->replaceHandler(std::move(stale));
  return true;
}

bool Exchange::revalidating() const { return tap_ && tap_->revalidates(request_.method); }

void Exchange::finishRevalidation() {
  bool confirmed = *confirmed_;
  confirmed_.reset();
  state_ = State::kDone;
  logged_ = true; // the handler taking over writes the access line
  releaseUpstream();
  // What follows serves the client's own request, as it was before any redirect to storage.
  bool redirected = registryRequest_.has_value();
  http::RequestHead request = redirected ? std::move(*registryRequest_) : request_;
  std::string target = redirected ? registryTarget_ : originTarget_;
  client_->replaceHandler(tap_->afterRevalidation(*client_, confirmed, std::move(request),
                                                  std::move(target), registryEndpoint_, record_,
                                                  mirror_));
}

bool Exchange::upstreamIsClean() const {
  // Anything less and the next request on this connection would be read as the rest of this
  // one (a body upstream still waits for), or be answered with this one's leftovers.
  return upstream_ && !upstreamEof_ && responseKeepAlive_ && requestComplete_ && responseEnded_ &&
         parser_ && !parser_->midMessage() && parser_->error() == http::ParseError::kNone &&
         evbuffer_get_length(pendingBody_.get()) == 0 &&
         evbuffer_get_length(bufferevent_get_output(upstream_.get())) == 0 &&
         evbuffer_get_length(bufferevent_get_input(upstream_.get())) == 0;
}

void Exchange::releaseUpstream() {
  upstreamGate_.attach(nullptr);
  if (upstreamIsClean()) {
    client_->services().pool().give(poolKey_, std::move(upstream_));
  } else {
    upstream_.reset();
  }
}

bool Exchange::usesOperatorAccount() const {
  return operatorAccount_.appliesTo(endpoint_.tls,
                                    poolKey_.host + ":" + std::to_string(endpoint_.port));
}

bool Exchange::canRetryWithOperatorAccount() const {
  return usesOperatorAccount() && !authRetried_ && !hasBody(request_) &&
         (request_.method == "GET" || request_.method == "HEAD");
}

void Exchange::retryWithOperatorAccount() {
  http::AuthChallenge challenge = std::move(*authChallenge_);
  authChallenge_.reset();
  authRetried_ = true;
  releaseUpstream();
  upstreamEof_ = false;
  responseKeepAlive_ = false;
  state_ = State::kConnecting;
  std::weak_ptr<bool> alive = alive_;
  operatorAccount_.prepareRetry(
      client_->services(), challenge, client_->logPrefix(), [this, alive](Result<void> ready) {
        if (!alive.lock()) return;
        if (!ready.ok()) {
          failUpstream(502, ready.failure().detail, UpstreamError::kProtocol);
          return;
        }
        connect(true);
      });
}

void Exchange::followRedirect() {
  std::string location = std::move(*redirectTo_);
  redirectTo_.reset();
  ++redirects_;
  releaseUpstream();
  auto hop = redirectHop(endpoint_, location);
  if (!hop.ok()) {
    failUpstream(502, hop.failure().detail, UpstreamError::kProtocol);
    return;
  }
  // (Host follows endpoint_: sendRequestHead names the new target.)
  if (hop->dropAuthorization) request_.headers.remove("Authorization");
  endpoint_ = std::move(hop->endpoint);
  poolKey_ = PoolKey{endpoint_.tls, lowercase(endpoint_.host), endpoint_.port};
  originTarget_ = std::move(hop->originTarget);
  log::proxy().debug("{} following a redirect to {}", client_->logPrefix(), poolKey_.toString());
  record_.note = "followed redirect to " + poolKey_.toString();
  upstreamEof_ = false;
  responseKeepAlive_ = false;
  connect(true);
}

bool Exchange::canAnswerPing() const {
  bool ping = originTarget_ == "/v2/" || originTarget_ == "/v2";
  return ping && client_->services().cacheEnabled() &&
         (request_.method == "GET" || request_.method == "HEAD");
}

bool Exchange::answerPingOffline(const std::string &why) {
  // Clients ping /v2/ before every pull. With the upstream unreachable, answering the ping
  // ourselves lets them go on to content the cache can serve.
  if (!canAnswerPing()) return false;
  log::cache().warn("{} {}: {}; answering the /v2/ ping so cached content can be served",
                    client_->logPrefix(), poolKey_.toString(), why);
  http::ResponseHead head;
  head.status = 200;
  head.reason = "OK";
  head.headers.add("Content-Type", "application/json; charset=utf-8");
  head.headers.add("Docker-Distribution-API-Version", "registry/2.0");
  head.headers.add("Content-Length", "2");
  head.headers.add("X-Cache", "STALE");
  head.headers.add("Connection", "close");
  std::string serialized = http::serializeResponseHead(head);
  evbuffer_add(client_->clientOutput(), serialized.data(), serialized.size());
  if (request_.method == "GET") evbuffer_add(client_->clientOutput(), "{}", 2);
  record_.status = 200;
  record_.note += " (ping answered by the proxy)";
  logOnce();
  client_->onResponseComplete(false);
  return true;
}

void Exchange::logOnce() {
  if (logged_) return;
  logged_ = true;
  completeRequest(client_->services().metrics(), record_);
}

} // namespace regcache::proxy
