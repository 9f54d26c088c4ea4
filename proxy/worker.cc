#include "proxy/worker.h"

#include <fcntl.h>
#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/log.h"
#include "proxy/access/target_policy.h"
#include "proxy/cache/fill.h"
#include "proxy/cache/public_probe.h"
#include "proxy/session/client_session.h"

namespace regcache::proxy {

Worker::Worker(unsigned index, SharedContext &shared)
    : index_(index), shared_(shared), base_(event_base_new()),
      pool_(shared.options.upstreamPoolPerHost, shared.options.upstreamIdle) {
  if (!base_) throw std::runtime_error("event_base_new failed");
  reaper_.reset(event_new(base_.get(), -1, 0, &Worker::onReap, this));
  resolver_ = std::make_unique<net::Resolver>(
      base_.get(), shared.options.dnsServers, shared.dnsServers,
      net::Resolver::CacheTtls{shared.options.dnsMaxTtl, shared.options.dnsNegativeTtl});
  mailbox_ = std::make_shared<net::LoopMailbox>(base_.get());
  completions_ = std::make_unique<LoopCompletions>(mailbox_);
}

Worker::~Worker() {
  mailbox_->close(); // a pool thread's late result must not wake a loop that is going away
  // Sessions first: they hold bufferevents and lookups that refer to the pool and resolver.
  sessions_.clear();
  fills_.clear();
  probes_.clear();
  graveyard_.clear();
  listeners_.clear();
}

Result<void> Worker::listen(const std::vector<int> &inherited) {
  for (int original : inherited) {
    // A duplicate per worker: each listener closes its own, and the original outlives them all.
    int fd = ::fcntl(original, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return fail(Error::kIo, std::string("dup: ") + std::strerror(errno));
    auto listener =
        net::Listener::adopt(base_.get(), fd, [this](int client, const net::SocketAddress &peer) {
          onAccept(client, peer);
        });
    if (!listener.ok()) return listener.failure();
    listeners_.push_back(std::move(listener.value()));
  }
  // Inherited sockets replace --listen; the mirror's TLS listeners are opened either way.
  if (inherited.empty()) {
    for (const auto &address : shared_.options.listen) {
      auto socketAddress = net::SocketAddress::fromIp(address.host, address.port);
      if (!socketAddress) return fail(Error::kInvalidInput, "bad listen address " + address.host);
      auto listener = net::Listener::open(
          base_.get(), *socketAddress,
          [this](int fd, const net::SocketAddress &peer) { onAccept(fd, peer); });
      if (!listener.ok()) return listener.failure();
      listeners_.push_back(std::move(listener.value()));
    }
  }
  // After the plain (or inherited) listeners, so boundAddresses() lists those first.
  for (const auto &address : shared_.options.mirrorTlsListen) {
    auto socketAddress = net::SocketAddress::fromIp(address.host, address.port);
    if (!socketAddress) {
      return fail(Error::kInvalidInput, "bad --mirror-tls-listen address " + address.host);
    }
    auto listener = net::Listener::open(
        base_.get(), *socketAddress,
        [this](int fd, const net::SocketAddress &peer) { onAccept(fd, peer, true); });
    if (!listener.ok()) return listener.failure();
    listeners_.push_back(std::move(listener.value()));
  }
  return {};
}

std::vector<net::SocketAddress> Worker::boundAddresses() const {
  std::vector<net::SocketAddress> out;
  for (const auto &listener : listeners_)
    out.push_back(listener->localAddress());
  return out;
}

void Worker::start() {
  thread_ = std::thread([this] {
    event_base_dispatch(base_.get());
    log::proxy().debug("worker {} stopped", index_);
  });
  // Named for `ps -L` and perf (a failure only loses the name).
  pthread_setname_np(thread_.native_handle(), ("loop-" + std::to_string(index_)).c_str());
}

void Worker::stop() { event_base_loopexit(base_.get(), nullptr); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::beginDrain() {
  mailbox_->post([this] {
    if (draining_) return;
    draining_ = true;
    listeners_.clear();
    // Copied first: closing a session removes it from sessions_.
    std::vector<ClientSession *> open;
    for (auto &entry : sessions_)
      open.push_back(entry.first);
    for (auto *session : open)
      session->closeIfIdle();
    drainCheck_.reset(event_new(base_.get(), -1, EV_PERSIST, &Worker::onDrainCheck, this));
    timeval tv{0, static_cast<suseconds_t>(
                      std::chrono::duration_cast<std::chrono::microseconds>(kDrainCheck).count())};
    event_add(drainCheck_.get(), &tv);
    onDrainCheck(-1, 0, this);
  });
}

void Worker::onDrainCheck(evutil_socket_t, short, void *arg) noexcept {
  auto *self = static_cast<Worker *>(arg);
  self->drained_.store(self->sessions_.empty() && self->fills_.empty());
}

void Worker::onAccept(int fd, const net::SocketAddress &peer, bool mirrorTls) {
  auto id = shared_.nextConnectionId.fetch_add(1);
  auto ticket = shared_.clientConnections.admit(peer);
  if (ticket.standing() == ClientConnections::Standing::kExcess) {
    // Far past the limit: not even a 503, which would cost a session per connection.
    log::proxy().warn("[c{}] refused {}: far past --max-connections-per-client {}", id,
                      peer.toString(), options().maxConnectionsPerClient);
    evutil_closesocket(fd);
    return;
  }
  auto session = std::make_unique<ClientSession>(*this, id, fd, peer, std::move(ticket));
  ClientSession *raw = session.get();
  sessions_.emplace(raw, std::move(session));
  if (mirrorTls) {
    raw->startMirrorTls();
  } else {
    raw->start();
  }
}

void Worker::onSessionClosed(ClientSession *session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  deleteLater(std::move(it->second));
  sessions_.erase(it);
}

void Worker::keepFill(std::unique_ptr<Fill> fill) {
  Fill *key = fill.get();
  fills_.emplace(key, std::move(fill));
}

void Worker::endFill(Fill *fill) { releaseFrom(fills_, fill); }

void Worker::bury(std::shared_ptr<void> object) {
  graveyard_.push_back(std::move(object));
  event_active(reaper_.get(), EV_TIMEOUT, 0);
}

StatusSources Worker::statusSources() {
  return StatusSources{shared_.metrics,   shared_.history, shared_.leaves, shared_.blobs != nullptr,
                       shared_.indexView, shared_.fills,   shared_.evictor};
}

void Worker::startProbe(std::unique_ptr<PublicProbe> probe) {
  PublicProbe *key = probe.get();
  probes_.emplace(key, std::move(probe));
  key->start();
}

void Worker::endProbe(PublicProbe *probe) { releaseFrom(probes_, probe); }

net::ConnectSettings Worker::upstreamConnectSettings(const std::string &host) const {
  auto targets = shared_.targets.load();
  net::ConnectSettings settings{shared_.upstreamTls, options().connectTimeout,
                                options().handshakeTimeout, admitter(targets, host)};
  if (shared_.upstreamProxy) {
    // The Connector leaves it out for the --upstream-no-proxy exceptions.
    settings.parent = shared_.upstreamProxy;
    settings.admitName = nameAdmitter(targets);
    // The parent resolves and connects to the origin before it answers.
    settings.parentAnswerTimeout = options().connectTimeout;
  }
  return settings;
}

void Worker::onReap(evutil_socket_t, short, void *arg) noexcept {
  auto *self = static_cast<Worker *>(arg);
  // Objects freed here may queue more (a session freeing its handler): swap first.
  std::vector<std::shared_ptr<void>> dead;
  dead.swap(self->graveyard_);
  dead.clear();
}

} // namespace regcache::proxy
