#include "proxy/net/connector.h"

#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "proxy/net/tls_contexts.h"

namespace regcache::proxy::net {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

} // namespace

bool throughParent(const ConnectSettings &settings, const Endpoint &endpoint) {
  return settings.parent && settings.parent->carries(endpoint.host, endpoint.port);
}

std::optional<std::string> refuseThroughParent(const ConnectSettings &settings,
                                               const Endpoint &endpoint) {
  // The name goes into the CONNECT line: only what a host name or an IP literal is made of.
  bool clean =
      !endpoint.host.empty() && std::all_of(endpoint.host.begin(), endpoint.host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
               c == '_' || c == ':';
      });
  if (!clean) return "'" + endpoint.host + "' is not a host name";
  // A literal is judged as if connected to directly: the parent would reach that very address.
  if (auto literal = SocketAddress::fromIp(endpoint.host, endpoint.port)) {
    return settings.admit ? settings.admit(*literal) : std::nullopt;
  }
  return settings.admitName ? settings.admitName(endpoint.host, endpoint.port) : std::nullopt;
}

Connector::Connector(event_base *base, Resolver &resolver, ConnectSettings settings,
                     Endpoint endpoint, std::string logPrefix, Callback callback)
    : base_(base), resolver_(resolver), settings_(settings), endpoint_(std::move(endpoint)),
      logPrefix_(std::move(logPrefix)), callback_(std::move(callback)) {}

Connector::~Connector() {
  if (lookup_) lookup_->cancel();
}

void Connector::start() {
  if (settings_.parent && !throughParent(settings_, endpoint_)) {
    log::proxy().debug("{} {}:{} is an --upstream-no-proxy exception: connecting directly",
                       logPrefix_, endpoint_.host, endpoint_.port);
    settings_.parent.reset();
  }
  if (!settings_.parent) {
    lookup_ =
        resolver_.resolve(endpoint_.host, endpoint_.port,
                          [this](Result<Resolver::Addresses> r) { onResolved(std::move(r)); });
    return;
  }
  if (auto refusal = refuseThroughParent(settings_, endpoint_)) {
    log::proxy().warn("{} refused {}:{}: {}", logPrefix_, endpoint_.host, endpoint_.port, *refusal);
    finish(fail(Error::kPolicy, *refusal));
    return;
  }
  lookup_ = resolver_.resolve(settings_.parent->host, settings_.parent->port,
                              [this](Result<Resolver::Addresses> r) { onResolved(std::move(r)); });
}

void Connector::onResolved(Result<Resolver::Addresses> addresses) {
  lookup_.reset();
  if (!addresses.ok()) {
    log::dns().warn("{} {}", logPrefix_, addresses.failure().detail);
    finish(addresses.failure());
    return;
  }
  addresses_ = std::move(addresses.value());
  if (settings_.admit && !settings_.parent) {
    std::string refusal;
    std::erase_if(addresses_, [&](const SocketAddress &address) {
      auto reason = settings_.admit(address);
      if (reason && refusal.empty()) refusal = *reason;
      return reason.has_value();
    });
    if (addresses_.empty()) {
      log::proxy().warn("{} refused {}:{}: {}", logPrefix_, endpoint_.host, endpoint_.port,
                        refusal);
      finish(fail(Error::kPolicy, refusal));
      return;
    }
  }
  tryNextAddress();
}

void Connector::tryNextAddress() {
  connectEvent_.reset();
  fd_.reset();
  while (nextAddress_ < addresses_.size()) {
    const SocketAddress &address = addresses_[nextAddress_++];
    UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      lastError_ = address.toString() + ": socket: " + std::strerror(errno);
      continue;
    }
    if (::connect(fd.get(), address.get(), address.length) != 0 && errno != EINPROGRESS) {
      lastError_ = address.toString() + ": " + std::strerror(errno);
      log::proxy().debug("{} connect {} failed: {}", logPrefix_, address.toString(),
                         std::strerror(errno));
      continue;
    }
    fd_ = std::move(fd);
    connectEvent_.reset(event_new(base_, fd_.get(), EV_WRITE, &Connector::onWritable, this));
    timeval timeout = toTimeval(settings_.connectTimeout);
    event_add(connectEvent_.get(), &timeout);
    return;
  }
  finish(fail(Error::kConnect, "cannot connect to " + endpoint_.host + ":" +
                                   std::to_string(endpoint_.port) + " (" + lastError_ + ")"));
}

void Connector::onWritable(evutil_socket_t, short what, void *arg) noexcept {
  static_cast<Connector *>(arg)->onTcpResult(what);
}

void Connector::onTcpResult(short what) {
  const SocketAddress &address = addresses_[nextAddress_ - 1];
  if (what & EV_TIMEOUT) {
    lastError_ = address.toString() + ": connect timed out";
    tryNextAddress();
    return;
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) {
    lastError_ = address.toString() + ": " + std::strerror(error);
    log::proxy().debug("{} connect {} failed: {}", logPrefix_, address.toString(),
                       std::strerror(error));
    tryNextAddress();
    return;
  }
  connectEvent_.reset();
  int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (settings_.parent) {
    sendConnect();
    return;
  }
  startOriginSession();
}

void Connector::startOriginSession() {
  if (endpoint_.tls) {
    startTls();
    return;
  }
  const SocketAddress address = addresses_[nextAddress_ - 1];
  // BEV_OPT_CLOSE_ON_FREE: the bufferevent now owns the socket.
  BufferEventPtr bev(bufferevent_socket_new(base_, fd_.release(),
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  finish(Connection{std::move(bev), address});
}

void Connector::sendConnect() {
  std::string request = connectRequest(*settings_.parent, endpoint_.host, endpoint_.port);
  // A few hundred bytes on a socket that just connected: the send buffer takes them whole.
  ssize_t sent = ::send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL);
  if (sent != static_cast<ssize_t>(request.size())) {
    std::string why = sent < 0 ? std::strerror(errno) : "short write";
    fd_.reset();
    finish(fail(Error::kConnect,
                "cannot send CONNECT to parent proxy " + settings_.parent->display() + ": " + why));
    return;
  }
  parentAnswer_ = std::make_unique<http::ConnectAnswer>(settings_.parentAnswerMaxBytes);
  parentDeadline_ = std::chrono::steady_clock::now() + settings_.parentAnswerTimeout;
  connectEvent_.reset(event_new(base_, fd_.get(), EV_READ, &Connector::onParentReadable, this));
  awaitParentAnswer();
}

void Connector::awaitParentAnswer() {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      parentDeadline_ - std::chrono::steady_clock::now());
  // One deadline for the whole answer: a parent trickling bytes does not renew it.
  timeval timeout = toTimeval(std::max(left, std::chrono::milliseconds(0)));
  event_add(connectEvent_.get(), &timeout);
}

void Connector::onParentReadable(evutil_socket_t, short what, void *arg) noexcept {
  static_cast<Connector *>(arg)->onParentAnswer(what);
}

void Connector::onParentAnswer(short what) {
  const std::string parent = settings_.parent->display();
  const std::string target = endpoint_.host + ":" + std::to_string(endpoint_.port);
  auto giveUp = [&](Error code, const std::string &why) {
    connectEvent_.reset();
    fd_.reset();
    log::proxy().warn("{} parent proxy {} for CONNECT {}: {}", logPrefix_, parent, target, why);
    finish(fail(code, "parent proxy " + parent + ": " + why));
  };
  if (what & EV_TIMEOUT) {
    giveUp(Error::kTimeout, "no complete answer to CONNECT within " +
                                std::to_string(settings_.parentAnswerTimeout.count()) + " ms");
    return;
  }
  // Peek, so that bytes after the head stay in the socket for the tunnel (TLS reads them from
  // there); what is consumed is exactly what the head is made of.
  char buffer[4096];
  ssize_t peeked = ::recv(fd_.get(), buffer, sizeof buffer, MSG_PEEK);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    awaitParentAnswer();
    return;
  }
  if (peeked < 0) {
    giveUp(Error::kConnect, std::string("reading the answer to CONNECT: ") + std::strerror(errno));
    return;
  }
  if (peeked == 0) {
    giveUp(Error::kUpstream, "closed the connection before answering CONNECT");
    return;
  }
  std::size_t head = parentAnswer_->feed(std::string_view(buffer, static_cast<size_t>(peeked)));
  using State = http::ConnectAnswer::State;
  State state = parentAnswer_->state();
  if (state == State::kRefused) {
    giveUp(Error::kUpstream, "answered " + std::to_string(parentAnswer_->status()) + " " +
                                 parentAnswer_->reason() + " to CONNECT " + target);
    return;
  }
  if (state == State::kMalformed || state == State::kTooLarge) {
    giveUp(Error::kUpstream, "bad answer to CONNECT: " + parentAnswer_->reason());
    return;
  }
  // Consume the head's bytes: the kernel hands back the same bytes just peeked.
  if (head > 0 && ::recv(fd_.get(), buffer, head, 0) != static_cast<ssize_t>(head)) {
    giveUp(Error::kConnect, "lost bytes of the answer to CONNECT");
    return;
  }
  if (state == State::kNeedMore) {
    awaitParentAnswer();
    return;
  }
  connectEvent_.reset();
  parentAnswer_.reset();
  log::proxy().debug("{} parent proxy {} opened a tunnel to {}", logPrefix_, parent, target);
  startOriginSession();
}

void Connector::startTls() {
  ERR_clear_error();
  auto ssl = newUpstreamSsl(settings_.tlsContext, endpoint_.host);
  if (!ssl.ok()) {
    finish(ssl.failure());
    return;
  }
  // The bufferevent takes the SSL (BEV_OPT_CLOSE_ON_FREE frees it) and the socket.
  tlsBev_.reset(bufferevent_openssl_socket_new(base_, fd_.release(), ssl.value().release(),
                                               BUFFEREVENT_SSL_CONNECTING,
                                               BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (!tlsBev_) {
    finish(fail(Error::kTls, "cannot create the TLS bufferevent"));
    return;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(tlsBev_.get(), 1);
  bufferevent_setcb(tlsBev_.get(), nullptr, nullptr, &Connector::onTlsEvent, this);
  timeval timeout = toTimeval(settings_.handshakeTimeout);
  bufferevent_set_timeouts(tlsBev_.get(), &timeout, &timeout);
  bufferevent_enable(tlsBev_.get(), EV_READ | EV_WRITE);
}

void Connector::onTlsEvent(bufferevent *, short what, void *arg) noexcept {
  static_cast<Connector *>(arg)->onTlsResult(what);
}

void Connector::onTlsResult(short what) {
  const SocketAddress address = addresses_[nextAddress_ - 1];
  if (what & BEV_EVENT_CONNECTED) {
    bufferevent_setcb(tlsBev_.get(), nullptr, nullptr, nullptr, nullptr);
    bufferevent_set_timeouts(tlsBev_.get(), nullptr, nullptr);
    bufferevent_disable(tlsBev_.get(), EV_READ | EV_WRITE);
    finish(Connection{std::move(tlsBev_), address});
    return;
  }
  std::string reason;
  SSL *ssl = bufferevent_openssl_get_ssl(tlsBev_.get());
  long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    reason = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  } else if (what & BEV_EVENT_TIMEOUT) {
    reason = "handshake timed out";
  } else {
    reason = bufferEventTlsErrors(tlsBev_.get());
    if (reason.empty())
      reason = (what & BEV_EVENT_EOF) ? "connection closed during handshake" : std::strerror(errno);
  }
  ERR_clear_error();
  tlsBev_.reset();
  finish(fail(Error::kTls, "TLS to " + endpoint_.host + ":" + std::to_string(endpoint_.port) +
                               " (" + address.toString() + ") failed: " + reason));
}

void Connector::finish(Result<Connection> result) {
  // The callback may destroy this object: nothing may touch a member after it.
  auto callback = std::move(callback_);
  callback_ = nullptr;
  if (callback) callback(std::move(result));
}

} // namespace regcache::proxy::net
