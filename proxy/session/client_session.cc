#include "proxy/session/client_session.h"

#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>

#include "base/clock.h"
#include "base/log.h"
#include "ca/authority.h"
#include "ca/leaf_cache.h"
#include "proxy/access/proxy_auth_pool.h"
#include "proxy/net/eager_write.h"
#include "proxy/net/tls_contexts.h"
#include "proxy/observe/access_log.h"
#include "proxy/observe/admin.h" // isOpenAdminPath
#include "proxy/session/handler_router.h"
#include "proxy/session/intercept_tls.h"
#include "proxy/session/route.h"
#include "proxy/session/session_services.h"

namespace regcache::proxy {
namespace {

constexpr std::string_view kConnectEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
constexpr std::chrono::milliseconds kLinger{2000};
// Bytes of the next requests a keep-alive client may send while one is answered before reading
// stops (reads go on past a message end until then; see feedParser).
constexpr std::size_t kPipelinedInputLimit = 64 * 1024;
// Bytes bufferevent_openssl encrypts and writes per pass to an intercepted client (libevent's
// default is 16 KiB: one TLS record, one write(2) and one loop turn per 16 KiB of a big hit).
constexpr std::size_t kClientSingleWrite = 256 * 1024;

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

const char *stateName(ClientSession::State s) {
  switch (s) {
  case ClientSession::State::kReadingRequest: return "ReadingRequest";
  case ClientSession::State::kHandling: return "Handling";
  case ClientSession::State::kConnectingTunnel: return "ConnectingTunnel";
  case ClientSession::State::kTunnelling: return "Tunnelling";
  case ClientSession::State::kSendingConnectReply: return "SendingConnectReply";
  case ClientSession::State::kTlsHandshake: return "TlsHandshake";
  case ClientSession::State::kAuthenticating: return "Authenticating";
  case ClientSession::State::kClosing: return "Closing";
  case ClientSession::State::kClosed: return "Closed";
  }
  return "?";
}

std::string opensslErrors(bufferevent *bev) {
  return net::bufferEventTlsErrors(bev, "connection closed");
}

} // namespace

ClientSession::ClientSession(SessionServices &services, std::uint64_t id, int fd,
                             const net::SocketAddress &peer, ClientConnections::Ticket ticket)
    : services_(services), id_(id), prefix_("[c" + std::to_string(id) + "]"), peer_(peer),
      ticket_(std::move(ticket)) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // BEV_OPT_CLOSE_ON_FREE: the bufferevent owns the accepted socket from here on.
  bev_.reset(bufferevent_socket_new(services_.base(), fd,
                                    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  timer_.reset(evtimer_new(services_.base(), &ClientSession::onTimer, this));
  continue_.reset(event_new(services_.base(), -1, 0, &ClientSession::onContinue, this));
  parser_.emplace(services_.options().limits, static_cast<http::RequestSink &>(*this));
}

ClientSession::~ClientSession() {
  if (handler_) handler_->onClientClosed();
}

void ClientSession::start() {
  log::proxy().debug("{} accepted from {}", prefix_, peer_.toString());
  BufferEventPtr bev = std::move(bev_);
  installClientBev(std::move(bev));
  transitionTo(State::kReadingRequest);
  if (!net::anyContains(*services_.allowedClients(), peer_)) {
    log::proxy().warn("{} refused client {}: not in --allow-client", prefix_, peer_.toString());
    respondAndClose(403, "regcache: " + peer_.ipString() + " may not use this proxy");
  }
}

void ClientSession::startMirrorTls() {
  mirrorTls_ = true;
  log::proxy().debug("{} accepted from {} on the mirror's TLS listener", prefix_, peer_.toString());
  BufferEventPtr bev = std::move(bev_);
  installClientBev(std::move(bev));
  if (!net::anyContains(*services_.allowedClients(), peer_)) {
    // No HTTP answer is possible before TLS; the plain listener's 403 says the same.
    log::proxy().warn("{} refused client {}: not in --allow-client", prefix_, peer_.toString());
    close();
    return;
  }
  // Without SNI (clients that reach it by IP send none) the leaf names the address reached.
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  evutil_socket_t fd = bufferevent_getfd(bev_.get());
  if (getsockname(fd, reinterpret_cast<sockaddr *>(&local), &length) != 0) {
    close();
    return;
  }
  auto address = net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr *>(&local), length);
  std::string ip = address.ipString();
  connectTarget_ = http::HostPort{ip, address.port(), ip.find(':') != std::string::npos};
  startTlsHandshake();
}

void ClientSession::installClientBev(BufferEventPtr bev) {
  bev_ = std::move(bev);
  bufferevent_setcb(bev_.get(), &ClientSession::onRead, &ClientSession::onWrite,
                    &ClientSession::onEvent, this);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, services_.options().relayHighWatermark / 2, 0);
  // A client that stops reading a response for this long is gone.
  timeval writeTimeout = toTimeval(services_.options().idleTimeout);
  bufferevent_set_timeouts(bev_.get(), nullptr, &writeTimeout);
  bufferevent_enable(bev_.get(), EV_WRITE);
  gate_.attach(bev_.get());
}

void ClientSession::transitionTo(State next) {
  log::proxy().trace("{} {} -> {}", prefix_, stateName(state_), stateName(next));
  state_ = next;
  switch (next) {
  case State::kReadingRequest:
    headerTimerArmed_ = false;
    armTimer(services_.options().idleTimeout);
    break;
  case State::kTlsHandshake: armTimer(services_.options().handshakeTimeout); break;
  case State::kAuthenticating: armTimer(services_.options().headerTimeout); break;
  case State::kClosing: armTimer(kLinger); break;
  case State::kHandling:
  case State::kConnectingTunnel:
  case State::kTunnelling:
  case State::kSendingConnectReply:
  case State::kClosed: evtimer_del(timer_.get()); break;
  }
  updateIdleMark();
}

void ClientSession::armTimer(std::chrono::milliseconds timeout) {
  timeval tv = toTimeval(timeout);
  evtimer_add(timer_.get(), &tv);
}

// ---- libevent trampolines ----

void ClientSession::onRead(bufferevent *, void *arg) noexcept {
  static_cast<ClientSession *>(arg)->handleReadable();
}
void ClientSession::onWrite(bufferevent *, void *arg) noexcept {
  static_cast<ClientSession *>(arg)->handleDrained();
}
void ClientSession::onEvent(bufferevent *, short what, void *arg) noexcept {
  static_cast<ClientSession *>(arg)->handleEvent(what);
}
void ClientSession::onTimer(evutil_socket_t, short, void *arg) noexcept {
  static_cast<ClientSession *>(arg)->handleTimeout();
}
void ClientSession::onContinue(evutil_socket_t, short, void *arg) noexcept {
  auto *self = static_cast<ClientSession *>(arg);
  if (self->state_ == State::kHandling && self->requestDone_ && self->responseDone_) {
    self->continueAfterResponse();
  } else if (self->state_ == State::kHandling || self->state_ == State::kReadingRequest) {
    self->feedParser();
  }
}

// ---- per-state handlers ----

void ClientSession::handleReadable() {
  switch (state_) {
  case State::kReadingRequest:
  case State::kHandling: feedParser(); break;
  case State::kClosing: {
    // Read and discard, so closing with unread input does not reset the connection before the
    // client has read our answer.
    evbuffer *in = bufferevent_get_input(bev_.get());
    evbuffer_drain(in, evbuffer_get_length(in));
    break;
  }
  default: break;
  }
}

void ClientSession::handleDrained() {
  switch (state_) {
  case State::kHandling:
    if (handler_) handler_->onClientDrained();
    break;
  case State::kSendingConnectReply:
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) startTlsHandshake();
    break;
  case State::kClosing:
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) close();
    break;
  case State::kReadingRequest: updateIdleMark(); break; // idle once the response is all out
  default: break;
  }
}

void ClientSession::handleEvent(short what) {
  if (state_ == State::kTlsHandshake) {
    if (what & BEV_EVENT_CONNECTED) {
      onHandshakeDone();
      return;
    }
    log::tls().warn("{} TLS handshake with client {} for {} failed: {}", prefix_, peer_.toString(),
                    connectTarget_ ? connectTarget_->host : "?", opensslErrors(bev_.get()));
    close();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    log::proxy().warn("{} client {} stopped reading; closing", prefix_, peer_.toString());
    close();
    return;
  }
  if (what & BEV_EVENT_ERROR) {
    std::string reason = intercepted_ || mirrorTls_
                             ? opensslErrors(bev_.get())
                             : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
    log::proxy().debug("{} client connection error: {}", prefix_, reason);
    close();
    return;
  }
  if ((what & BEV_EVENT_EOF) && state_ == State::kHandling &&
      gate_.pausedLazily(net::ReadGate::kParserPaused)) {
    // The request ended and reads went on: the client closed its side after it. Reads were
    // stopped here before (a stopped read sees no EOF), so the response goes out first, as it
    // did then, and the EOF is handled once this and the requests buffered before it are
    // answered. A TLS bufferevent stopped writing on the EOF: write what is queued.
    peerClosed_ = true;
    gate_.pause(net::ReadGate::kParserPaused);
    bufferevent_enable(bev_.get(), EV_WRITE);
    return;
  }
  if (what & BEV_EVENT_EOF) {
    if (state_ == State::kHandling || (parser_ && parser_->midMessage())) {
      log::proxy().debug("{} client closed mid-request", prefix_);
    }
    close();
  }
}

void ClientSession::handleTimeout() {
  switch (state_) {
  case State::kReadingRequest:
    if (headerTimerArmed_) {
      log::proxy().info("{} request header timeout from {}", prefix_, peer_.toString());
      respondAndClose(408, "request header timeout");
    } else {
      log::proxy().debug("{} idle timeout", prefix_);
      close();
    }
    break;
  case State::kTlsHandshake:
    log::tls().info("{} TLS handshake timeout from {}", prefix_, peer_.toString());
    close();
    break;
  case State::kAuthenticating:
    log::proxy().warn("{} proxy credentials from {} not checked in time", prefix_,
                      peer_.toString());
    respondAndClose(503, "regcache: the proxy credentials could not be checked in time",
                    "Retry-After: 1\r\n");
    break;
  case State::kClosing: close(); break;
  default: break;
  }
}

// ---- requests ----

void ClientSession::feedParser() {
  evbuffer *in = bufferevent_get_input(bev_.get());
  while (state_ == State::kReadingRequest || state_ == State::kHandling) {
    if (gate_.paused(net::ReadGate::kParserPaused) || gate_.paused(net::ReadGate::kSinkFull)) {
      // Held lazily at a message end, reads went on: past the bound, they stop for real.
      if (gate_.pausedLazily(net::ReadGate::kParserPaused) &&
          evbuffer_get_length(in) > kPipelinedInputLimit) {
        gate_.pause(net::ReadGate::kParserPaused);
      }
      return;
    }
    evbuffer_iovec vec{};
    bool buffered = evbuffer_peek(in, -1, nullptr, &vec, 1) > 0 && vec.iov_len != 0;
    if (!buffered && !parser_->holding()) break;
    std::string_view bytes =
        buffered ? std::string_view(static_cast<const char *>(vec.iov_base), vec.iov_len) : "";
    auto result = parser_->feed(bytes);
    evbuffer_drain(in, result.consumed);
    if (state_ != State::kReadingRequest && state_ != State::kHandling) return;
    switch (result.status) {
    case http::ParseStatus::kNeedMore: break;
    case http::ParseStatus::kPaused:
      // A message ended; a pipelined request waits until this one is answered. Reading goes on
      // meanwhile (bounded above): stopping and restarting it cost two epoll_ctl per request,
      // when the next request is nearly never there yet.
      gate_.pauseLazily(net::ReadGate::kParserPaused);
      return;
    case http::ParseStatus::kUpgrade: startConnect(); return;
    case http::ParseStatus::kError: {
      auto error = parser_->error();
      log::proxy().info("{} bad request from {}: {} ({})", prefix_, peer_.toString(),
                        http::describe(error), parser_->errorReason());
      respondAndClose(http::statusFor(error), http::describe(error));
      return;
    }
    }
  }
  if (state_ == State::kReadingRequest && parser_->midMessage() && !headerTimerArmed_) {
    headerTimerArmed_ = true;
    armTimer(services_.options().headerTimeout);
    updateIdleMark(); // a request has begun: no longer idle
  }
}

void ClientSession::onRequestHead(http::RequestHead &&head) {
  // Past --max-connections-per-client, only the first request shows what the client wanted:
  // plain HTTP can read a 503, while a CONNECT client expects a tunnel and is closed (in
  // startConnect, once the parser is done with the input).
  if (overConnectionLimit() && head.method != "CONNECT") {
    log::proxy().warn("{} {} {} from {}: past --max-connections-per-client {}", prefix_,
                      head.method, head.target, peer_.toString(),
                      services_.options().maxConnectionsPerClient);
    respondAndClose(503, "regcache: too many connections from " + peer_.ipString());
    return;
  }
  startRequest(std::move(head));
}

bool ClientSession::overConnectionLimit() const {
  return ticket_.standing() == ClientConnections::Standing::kOver;
}

void ClientSession::onRequestBody(std::string_view data) {
  if (handler_) handler_->onRequestBody(data);
}

void ClientSession::onRequestEnd() {
  if (state_ != State::kHandling) return;
  requestDone_ = true;
  if (handler_) handler_->onRequestEnd();
  if (responseDone_) event_active(continue_.get(), EV_TIMEOUT, 0);
}

void ClientSession::startRequest(http::RequestHead &&head) {
  fallback_.reset();
  Route route = routeRequest(head, intercepted_);
  if (route.kind == RouteKind::kBadRequest) {
    log::proxy().info("{} bad request from {}: {}", prefix_, peer_.toString(), route.error);
    respondAndClose(400, route.error);
    return;
  }
  bool proxied = route.kind == RouteKind::kConnect || route.kind == RouteKind::kForward;
  if (proxied && mirrorTls_) {
    // The TLS listener is the mirror's: a proxy client (CONNECT, absolute-form) uses --listen.
    log::proxy().info("{} proxy request {} {} from {} on the mirror's TLS listener", prefix_,
                      head.method, head.target, peer_.toString());
    respondAndClose(400, "regcache: this port serves the registry mirror; use the proxy port for "
                         "CONNECT and absolute-form requests");
    return;
  }
  // One snapshot of each reloadable list for the whole request, however long its check takes.
  auto users = services_.proxyUsers();
  if (proxied && !intercepted_ && users) {
    checkCredentials(std::move(head), std::move(route), CredentialUse::kProxy, std::move(users));
    return;
  }
  if (route.kind == RouteKind::kMirror && users) {
    // Whoever may not use the proxy may not use its mirror (nor the operator's upstream account).
    checkCredentials(std::move(head), std::move(route), CredentialUse::kMirror, std::move(users));
    return;
  }
  bool adminByAddress = net::anyContains(*services_.adminClients(), peer_);
  if (route.kind == RouteKind::kAdmin && !adminByAddress && !isOpenAdminPath(head.target) &&
      users) {
    checkCredentials(std::move(head), std::move(route), CredentialUse::kAdmin, std::move(users));
    return;
  }
  dispatchRequest(std::move(head), std::move(route), adminByAddress);
}

void ClientSession::checkCredentials(http::RequestHead &&head, Route &&route, CredentialUse use,
                                     std::shared_ptr<const ProxyUsers> users) {
  auto header = head.headers.get("Proxy-Authorization");
  if (!header && use != CredentialUse::kProxy) {
    // The admin endpoints and the mirror are the proxy's own: a scraper's or a mirror client's
    // Authorization: Basic is for it too (containerd sends hosts.toml's header there).
    header = head.headers.get("Authorization");
  }
  if (!header) {
    onCredentialsChecked(std::move(head), std::move(route), use, std::nullopt, *users);
    return;
  }
  auto check = users->checkFast(*header, SystemClock::instance());
  using Check = ProxyUsers::FastCheck::Outcome;
  if (check.outcome != Check::kNeedsHash) {
    std::optional<std::string> user;
    if (check.outcome == Check::kProven) user = std::move(check.user);
    onCredentialsChecked(std::move(head), std::move(route), use, std::move(user), *users);
    return;
  }
  // PBKDF2 takes hundreds of milliseconds: never on this loop. The head waits, the body too.
  auto pending = std::make_shared<PendingCredentials>(
      PendingCredentials{std::move(head), std::move(route), use, check.user, users});
  std::weak_ptr<PendingCredentials> ticket = pending;
  auto admission =
      services_.proxyAuthPool().submit(peer_.ipString(), std::move(users), check.password,
                                       services_.mailbox(), [this, ticket](bool verified) {
                                         // The session owns the only strong reference: alive
                                         // here means the session is too.
                                         if (auto waiting = ticket.lock())
                                           onPasswordChecked(std::move(waiting), verified);
                                       });
  if (admission == ProxyAuthPool::Admission::kTooManyFromClient) {
    log::proxy().warn("{} {} {} from {}: too many proxy password checks in flight from it", prefix_,
                      pending->head.method, pending->head.target, peer_.toString());
    respondAndClose(429, "regcache: too many proxy logins in flight from " + peer_.ipString(),
                    "Retry-After: 1\r\n");
    return;
  }
  if (admission == ProxyAuthPool::Admission::kBusy) {
    log::proxy().warn("{} {} {} from {}: the proxy password checks are all busy", prefix_,
                      pending->head.method, pending->head.target, peer_.toString());
    respondAndClose(503, "regcache: too many proxy logins in flight", "Retry-After: 1\r\n");
    return;
  }
  pendingCredentials_ = std::move(pending);
  parser_->holdAfterHead();
  gate_.pause(net::ReadGate::kParserPaused);
  transitionTo(State::kAuthenticating);
}

void ClientSession::onPasswordChecked(std::shared_ptr<PendingCredentials> pending, bool verified) {
  if (state_ != State::kAuthenticating || pending != pendingCredentials_) return;
  pendingCredentials_.reset();
  transitionTo(State::kReadingRequest);
  parser_->resume();
  gate_.resume(net::ReadGate::kParserPaused);
  std::optional<std::string> user;
  if (verified) user = pending->user;
  onCredentialsChecked(std::move(pending->head), std::move(pending->route), pending->use,
                       std::move(user), *pending->users);
  // The body (or, for a CONNECT, the upgrade) is parsed from where the parser held.
  if (state_ == State::kReadingRequest || state_ == State::kHandling) feedParser();
}

void ClientSession::onCredentialsChecked(http::RequestHead &&head, Route &&route, CredentialUse use,
                                         std::optional<std::string> user, const ProxyUsers &users) {
  if (user) {
    if (user_ != *user) log::proxy().debug("{} proxy user {}", prefix_, *user);
    user_ = *user;
  }
  if (use == CredentialUse::kAdmin) {
    // An ordinary user (a CI runner's token) is no admin: the endpoint answers 403.
    bool admin = user && users.isAdmin(*user);
    dispatchRequest(std::move(head), std::move(route), admin);
    return;
  }
  if (!user && use == CredentialUse::kMirror) {
    log::proxy().warn("{} mirror {} {} from {}: no valid proxy credentials", prefix_, head.method,
                      head.target, peer_.toString());
    // A mirror client is no proxy client: it understands a registry's 401, not a 407.
    route.error = "proxy credentials required";
    dispatchRequest(std::move(head), std::move(route), false);
    return;
  }
  if (!user) {
    log::proxy().warn("{} {} {} from {}: no valid proxy credentials", prefix_, head.method,
                      head.target, peer_.toString());
    respondAndClose(407, "regcache: proxy credentials required",
                    "Proxy-Authenticate: Basic realm=\"regcache\"\r\n");
    return;
  }
  dispatchRequest(std::move(head), std::move(route), false);
}

void ClientSession::dispatchRequest(http::RequestHead &&head, Route &&route, bool admin) {
  if (route.kind == RouteKind::kConnect) {
    connectTarget_ = route.upstream;
    return; // the parser reports kUpgrade next
  }
  requestDone_ = false;
  responseDone_ = false;
  keepAlive_ = head.keepAlive;
  transitionTo(State::kHandling);
  handler_ = pickHandler(*this, std::move(head), std::move(route), admin, fallback_);
  handler_->start();
}

bool ClientSession::closeIfIdle() {
  if (!awaitingNextRequest()) return false;
  log::proxy().debug("{} closing an idle keep-alive connection: draining", prefix_);
  closeAfterFlush();
  return true;
}

bool ClientSession::awaitingNextRequest() const {
  return state_ == State::kReadingRequest && answeredOne_ && !(parser_ && parser_->midMessage()) &&
         (!bev_ || evbuffer_get_length(bufferevent_get_input(bev_.get())) == 0);
}

bool ClientSession::betweenRequests() const {
  return bev_ && awaitingNextRequest() &&
         evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0;
}

void ClientSession::updateIdleMark() {
  if (betweenRequests()) {
    services_.idleList().markIdle(idleEntry_);
  } else {
    services_.idleList().markBusy(idleEntry_);
  }
}

bool ClientSession::closeForIdleBound() {
  if (!betweenRequests()) return false;
  log::proxy().debug("{} closing the longest-idle connection: past --max-idle-connections {}",
                     prefix_, services_.options().maxIdleConnections);
  if (intercepted_ || mirrorTls_) {
    if (SSL *ssl = bufferevent_openssl_get_ssl(bev_.get())) {
      // close_notify, written straight to the socket: the output is empty, so it overtakes
      // nothing. The client's own close_notify is not awaited (the TLS state is what we free).
      SSL_shutdown(ssl);
      ERR_clear_error();
    }
  }
  close(); // then FIN: the socket is closed with nothing unread, so no RST
  return true;
}

void ClientSession::continueAfterResponse() {
  services_.deleteLater(std::move(handler_));
  answeredOne_ = true;
  if (!keepAlive_ || services_.draining()) {
    closeAfterFlush();
    return;
  }
  parser_->resume();
  transitionTo(State::kReadingRequest);
  gate_.resume(net::ReadGate::kSinkFull);
  gate_.resume(net::ReadGate::kParserPaused);
  feedParser();
  // The client closed its side while a response was written: what it sent before is answered
  // (the loop above); then what is queued goes out and the connection closes.
  if (peerClosed_ && state_ == State::kReadingRequest) closeAfterFlush();
}

// ---- ClientSide ----

evbuffer *ClientSession::clientOutput() { return bufferevent_get_output(bev_.get()); }

void ClientSession::sendToClient(std::string_view head, std::span<const char> body) {
  net::sendEagerly(bev_.get(), head, body);
}

bool ClientSession::clientOutputFull() const {
  return evbuffer_get_length(bufferevent_get_output(bev_.get())) >
         services_.options().relayHighWatermark;
}

void ClientSession::pauseClientReads(bool paused) {
  if (paused) {
    gate_.pause(net::ReadGate::kSinkFull);
    return;
  }
  gate_.resume(net::ReadGate::kSinkFull);
  // Bytes already buffered produce no new read event: feed them on the next loop turn.
  event_active(continue_.get(), EV_TIMEOUT, 0);
}

void ClientSession::onResponseComplete(bool keepAlive) {
  if (state_ != State::kHandling) return;
  responseDone_ = true;
  keepAlive_ = keepAlive_ && keepAlive;
  if (requestDone_) {
    event_active(continue_.get(), EV_TIMEOUT, 0);
  } else if (!keepAlive_) {
    // The rest of the request body is not worth reading.
    services_.deleteLater(std::move(handler_));
    closeAfterFlush();
  }
}

HandlerServices &ClientSession::services() { return services_; }

void ClientSession::forwardInstead() {
  auto next = state_ == State::kHandling ? forwardAlone(*this, fallback_) : nullptr;
  if (!next) {
    abortClient("cannot forward this request on its own");
    return;
  }
  replaceHandler(std::move(next));
}

void ClientSession::replaceHandler(std::unique_ptr<RequestHandler> next) {
  if (state_ != State::kHandling) return;
  services_.deleteLater(std::move(handler_));
  handler_ = std::move(next);
  RequestHandler *current = handler_.get();
  current->start();
  if (requestDone_ && handler_.get() == current) current->onRequestEnd();
}

std::unique_ptr<RequestHandler> ClientSession::handOver(std::unique_ptr<RequestHandler> next) {
  std::unique_ptr<RequestHandler> previous = std::move(handler_);
  handler_ = std::move(next);
  RequestHandler *current = handler_.get();
  current->start();
  if (requestDone_ && handler_.get() == current) current->onRequestEnd();
  return previous;
}

void ClientSession::abortClient(const std::string &reason) {
  log::proxy().warn("{} aborting client {}: {}", prefix_, peer_.toString(), reason);
  close();
}

// ---- CONNECT ----

void ClientSession::startConnect() {
  if (overConnectionLimit()) {
    log::proxy().warn("{} CONNECT from {}: past --max-connections-per-client {}; closing", prefix_,
                      peer_.toString(), services_.options().maxConnectionsPerClient);
    close();
    return;
  }
  if (!connectTarget_) {
    respondAndClose(400, "bad CONNECT");
    return;
  }
  connectStarted_ = std::chrono::steady_clock::now();
  evtimer_del(timer_.get());
  if (auto refused = services_.targets()->refuseName(connectTarget_->host, connectTarget_->port)) {
    refuseConnect(*refused);
    return;
  }
  // A host outside the CA's name constraints could get no valid leaf: tunnel it instead.
  bool intercept = services_.interceptPolicy().shouldIntercept(connectTarget_->host) &&
                   services_.leaves().authority()->permits(connectTarget_->host);
  if (intercept) {
    // Through a parent proxy nothing is resolved here (the parent resolves, and this proxy's
    // DNS may not even know the name): judge what the connections will judge, by name.
    net::ConnectSettings settings = services_.upstreamConnectSettings(connectTarget_->host);
    net::Endpoint endpoint{connectTarget_->host, connectTarget_->port, true};
    if (net::throughParent(settings, endpoint)) {
      if (auto refused = net::refuseThroughParent(settings, endpoint)) {
        refuseConnect(*refused);
        return;
      }
      interceptConnect();
      return;
    }
    // Judge the target before answering: a refused one gets its 403 now, not inside TLS. The
    // connections made later judge the addresses they get again.
    gate_.pause(net::ReadGate::kAwaitingUpstream);
    transitionTo(State::kConnectingTunnel);
    targetLookup_ =
        services_.resolver().resolve(connectTarget_->host, connectTarget_->port,
                                     [this](Result<net::Resolver::Addresses> addresses) {
                                       onTargetResolved(std::move(addresses));
                                     });
    return;
  }
  openTunnel();
}

void ClientSession::onTargetResolved(Result<net::Resolver::Addresses> addresses) {
  targetLookup_.reset();
  if (addresses.ok()) {
    std::optional<std::string> refusal;
    bool admitted = false;
    for (const auto &address : addresses.value()) {
      auto reason = services_.targets()->refuseAddress(connectTarget_->host, address);
      admitted = admitted || !reason;
      if (reason && !refusal) refusal = reason;
    }
    if (!admitted && refusal) {
      refuseConnect(*refusal);
      return;
    }
  } // a lookup failure is reported by the first request's own connection attempt
  gate_.resume(net::ReadGate::kAwaitingUpstream);
  interceptConnect();
}

void ClientSession::refuseConnect(const std::string &reason) {
  log::proxy().warn("{} CONNECT {}:{} refused: {}", prefix_, connectTarget_->host,
                    connectTarget_->port, reason);
  AccessRecord record =
      startAccessRecord(*this, "CONNECT", http::formatAuthority(*connectTarget_), "-");
  record.started = connectStarted_;
  record.status = 403;
  record.note = reason;
  completeRequest(services_.metrics(), record);
  respondAndClose(403, "regcache: " + reason);
}

void ClientSession::interceptConnect() {
  log::proxy().debug("{} CONNECT {}:{} intercepted", prefix_, connectTarget_->host,
                     connectTarget_->port);
  gate_.pause(net::ReadGate::kHandshake);
  evbuffer_add(bufferevent_get_output(bev_.get()), kConnectEstablished.data(),
               kConnectEstablished.size());
  // Fire the write callback only once the reply is fully sent.
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
  transitionTo(State::kSendingConnectReply);
}

void ClientSession::openTunnel() {
  log::proxy().debug("{} CONNECT {}:{} tunnelled", prefix_, connectTarget_->host,
                     connectTarget_->port);
  gate_.pause(net::ReadGate::kAwaitingUpstream);
  transitionTo(State::kConnectingTunnel);
  // A plain TCP endpoint: the TLS context in the settings goes unused.
  tunnelConnector_ = std::make_unique<net::Connector>(
      services_.base(), services_.resolver(),
      services_.upstreamConnectSettings(connectTarget_->host),
      net::Endpoint{connectTarget_->host, connectTarget_->port, false}, prefix_,
      [this](Result<net::Connector::Connection> c) { onTunnelConnected(std::move(c)); });
  tunnelConnector_->start();
}

void ClientSession::onTunnelConnected(Result<net::Connector::Connection> connection) {
  services_.deleteLater(std::move(tunnelConnector_));
  AccessRecord record =
      startAccessRecord(*this, "CONNECT", http::formatAuthority(*connectTarget_), "-");
  record.started = connectStarted_;
  record.note = "tunnel";
  if (!connection.ok() && connection.failure().code == Error::kPolicy) {
    refuseConnect(connection.failure().detail);
    return;
  }
  if (!connection.ok()) {
    log::proxy().warn("{} tunnel to {}:{} failed: {}", prefix_, connectTarget_->host,
                      connectTarget_->port, connection.failure().detail);
    record.status = 502;
    record.note = connection.failure().detail;
    completeRequest(services_.metrics(), record);
    respondAndClose(502,
                    "cannot reach " + connectTarget_->host + ": " + connection.failure().detail);
    return;
  }
  evbuffer_add(bufferevent_get_output(bev_.get()), kConnectEstablished.data(),
               kConnectEstablished.size());
  gate_.attach(nullptr);
  relay_ = std::make_unique<net::Relay>(
      std::move(bev_), std::move(connection.value().bev), services_.options().relayHighWatermark,
      [this, record](const net::Relay::Totals &totals, const std::string &error) mutable {
        record.status = 200;
        record.bytesSent = totals.bToA;
        if (!error.empty()) record.note = "tunnel: " + error;
        completeRequest(services_.metrics(), record);
        close();
      });
  relay_->setIdleTimeout(services_.options().tunnelIdleTimeout);
  transitionTo(State::kTunnelling);
  relay_->start();
}

void ClientSession::startTlsHandshake() {
  if (evbuffer_get_length(bufferevent_get_input(bev_.get())) != 0) {
    log::proxy().info("{} client sent data before the CONNECT reply; closing", prefix_);
    close();
    return;
  }
  // Hand the socket from the plain bufferevent to a TLS one: detach it first so freeing the
  // plain bufferevent does not close it.
  evutil_socket_t fd = bufferevent_getfd(bev_.get());
  bufferevent_setfd(bev_.get(), -1);
  gate_.attach(nullptr);
  bev_.reset();

  ERR_clear_error();
  auto ssl =
      newInterceptSsl(services_.interceptTls(), connectTarget_->host, peer_.ipString(), prefix_);
  if (!ssl.ok()) {
    evutil_closesocket(fd);
    log::tls().error("{} {}", prefix_, ssl.failure().detail);
    close();
    return;
  }
  // The TLS bufferevent takes the SSL and the socket (BEV_OPT_CLOSE_ON_FREE).
  BufferEventPtr tls(bufferevent_openssl_socket_new(
      services_.base(), fd, ssl.value().release(), BUFFEREVENT_SSL_ACCEPTING,
      BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (!tls) {
    evutil_closesocket(fd);
    close();
    return;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(tls.get(), 1);
  bufferevent_set_max_single_write(tls.get(), kClientSingleWrite);
  parser_.emplace(services_.options().limits, static_cast<http::RequestSink &>(*this));
  gate_.resume(net::ReadGate::kHandshake);
  installClientBev(std::move(tls));
  transitionTo(State::kTlsHandshake);
}

void ClientSession::onHandshakeDone() {
  if (!mirrorTls_) intercepted_ = connectTarget_;
  SSL *ssl = bufferevent_openssl_get_ssl(bev_.get());
  const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  log::tls().debug("{} TLS with client established for {}:{} ({}, sni={}, resumed={})", prefix_,
                   connectTarget_->host, connectTarget_->port, SSL_get_version(ssl),
                   sni != nullptr ? sni : "-", SSL_session_reused(ssl) == 1);
  transitionTo(State::kReadingRequest);
  feedParser();
}

// ---- closing ----

void ClientSession::respondAndClose(int status, const std::string &message,
                                    const std::string &extraHeaders) {
  releaseHandler();
  if (!bev_) {
    close();
    return;
  }
  std::string response =
      http::simpleResponse(status, http::reasonPhrase(status), message + "\n", true);
  if (!extraHeaders.empty()) response.insert(response.find("\r\n") + 2, extraHeaders);
  evbuffer_add(bufferevent_get_output(bev_.get()), response.data(), response.size());
  closeAfterFlush();
}

void ClientSession::closeAfterFlush() {
  if (!bev_) {
    close();
    return;
  }
  gate_.resume(net::ReadGate::kSinkFull);
  gate_.resume(net::ReadGate::kParserPaused);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
  transitionTo(State::kClosing);
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) close();
}

void ClientSession::releaseHandler() {
  if (!handler_) return;
  handler_->onClientClosed();
  services_.deleteLater(std::move(handler_));
}

void ClientSession::close() {
  if (state_ == State::kClosed) return;
  transitionTo(State::kClosed);
  targetLookup_.reset();
  pendingCredentials_.reset(); // a password check still running finds nobody to answer
  releaseHandler();
  services_.deleteLater(std::move(tunnelConnector_));
  services_.deleteLater(std::move(relay_));
  gate_.attach(nullptr);
  bev_.reset();
  event_del(continue_.get());
  log::proxy().debug("{} closed", prefix_);
  services_.onSessionClosed(this);
}

} // namespace regcache::proxy
