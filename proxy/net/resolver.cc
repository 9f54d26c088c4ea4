#include "proxy/net/resolver.h"

#include <cctype>

#include <netdb.h>

#include <stdexcept>

#include "base/log.h"

namespace regcache::proxy::net {
namespace {

std::string joinServers(const std::vector<std::string> &servers) {
  std::string csv;
  for (const auto &s : servers) {
    if (!csv.empty()) csv += ',';
    csv += s;
  }
  return csv;
}

} // namespace

struct Resolver::Query {
  Resolver *resolver;
  std::shared_ptr<Lookup> lookup;
  int family;
};

Resolver::Resolver(event_base *base, const std::vector<std::string> &servers) : base_(base) {
  ares_options options{};
  options.sock_state_cb = &Resolver::onSockState;
  options.sock_state_cb_data = this;
  options.timeout = 2000; // ms per try; a dead server must not stall a pull for long
  options.tries = 2;
  ares_channel channel = nullptr;
  int rc = ares_init_options(&channel, &options,
                             ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares init failed: ") + ares_strerror(rc));
  }
  channel_.reset(channel);
  if (!servers.empty()) {
    rc = ares_set_servers_ports_csv(channel_.get(), joinServers(servers).c_str());
    if (rc != ARES_SUCCESS) {
      throw std::runtime_error("bad --dns-server list '" + joinServers(servers) +
                               "': " + ares_strerror(rc));
    }
  }
  timer_.reset(evtimer_new(base_, &Resolver::onTimer, this));
}

Resolver::~Resolver() {
  // ares_destroy runs pending callbacks with ARES_EDESTRUCTION; they only free their Query.
  channel_.reset();
  sockets_.clear();
}

bool isLocalhostName(std::string_view host) {
  std::string name(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (char &c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  constexpr std::string_view kSuffix = ".localhost";
  return name == "localhost" ||
         (name.size() > kSuffix.size() &&
          name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0);
}

std::shared_ptr<Resolver::Lookup> Resolver::resolve(const std::string &host, uint16_t port,
                                                    Callback callback) {
  auto lookup = std::make_shared<Lookup>();
  lookup->callback_ = std::move(callback);
  lookup->host_ = host;
  lookup->port_ = port;

  if (isLocalhostName(host)) {
    // RFC 6761: localhost names are loopback, never asked of DNS (and c-ares 1.18 leaks on its
    // own localhost path).
    lookup->v6_.push_back(*SocketAddress::fromIp("::1", port));
    lookup->v4_.push_back(*SocketAddress::fromIp("127.0.0.1", port));
    auto *query = new Query{this, lookup, AF_UNSPEC};
    event_base_once(base_, -1, EV_TIMEOUT, &Resolver::onLiteral, query, nullptr);
    return lookup;
  }
  if (auto literal = SocketAddress::fromIp(host, port)) {
    (literal->family() == AF_INET6 ? lookup->v6_ : lookup->v4_).push_back(*literal);
    // Deliver on the next loop turn so callers never see a callback from inside resolve().
    auto *query = new Query{this, lookup, AF_UNSPEC};
    event_base_once(base_, -1, EV_TIMEOUT, &Resolver::onLiteral, query, nullptr);
    return lookup;
  }

  for (int family : {AF_INET6, AF_INET}) {
    ares_addrinfo_hints hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    ++lookup->pending_;
    // Owned by c-ares until onAddrInfo, which deletes it.
    auto *query = new Query{this, lookup, family};
    ares_getaddrinfo(channel_.get(), host.c_str(), nullptr, &hints, &Resolver::onAddrInfo, query);
  }
  rearmTimer();
  return lookup;
}

void Resolver::onLiteral(evutil_socket_t, short, void *arg) noexcept {
  std::unique_ptr<Query> query(static_cast<Query *>(arg));
  auto &lookup = *query->lookup;
  if (!lookup.callback_) return;
  auto callback = std::move(lookup.callback_);
  Addresses all = lookup.v6_;
  all.insert(all.end(), lookup.v4_.begin(), lookup.v4_.end());
  callback(std::move(all));
}

void Resolver::onAddrInfo(void *arg, int status, int, ares_addrinfo *result) noexcept {
  finishQuery(static_cast<Query *>(arg), status, result);
}

void Resolver::finishQuery(Query *raw, int status, ares_addrinfo *result) {
  std::unique_ptr<Query> query(raw);
  auto &lookup = *query->lookup;
  if (status == ARES_SUCCESS && result != nullptr) {
    for (auto *node = result->nodes; node != nullptr; node = node->ai_next) {
      if (node->ai_family != AF_INET && node->ai_family != AF_INET6) continue;
      auto address = SocketAddress::fromSockaddr(node->ai_addr, node->ai_addrlen);
      address.setPort(lookup.port_);
      (node->ai_family == AF_INET6 ? lookup.v6_ : lookup.v4_).push_back(address);
    }
  } else {
    lookup.lastError_ =
        std::string(query->family == AF_INET6 ? "AAAA: " : "A: ") + ares_strerror(status);
  }
  if (result != nullptr) ares_freeaddrinfo(result);
  if (--lookup.pending_ > 0 || status == ARES_EDESTRUCTION || !lookup.callback_) return;

  auto callback = std::move(lookup.callback_);
  Addresses all = lookup.v6_;
  all.insert(all.end(), lookup.v4_.begin(), lookup.v4_.end());
  if (all.empty()) {
    callback(fail(Error::kDns, "cannot resolve " + lookup.host_ + " (" + lookup.lastError_ + ")"));
    return;
  }
  callback(std::move(all));
}

void Resolver::onSockState(void *data, ares_socket_t fd, int readable, int writable) noexcept {
  static_cast<Resolver *>(data)->updateSocket(fd, readable != 0, writable != 0);
}

void Resolver::updateSocket(ares_socket_t fd, bool readable, bool writable) {
  if (!readable && !writable) {
    sockets_.erase(fd);
    return;
  }
  short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  EventPtr ev(event_new(base_, fd, what, &Resolver::onSocketEvent, this));
  event_add(ev.get(), nullptr);
  sockets_[fd] = std::move(ev); // replaces (and frees) any previous event for this socket
}

void Resolver::onSocketEvent(evutil_socket_t fd, short what, void *arg) noexcept {
  auto *self = static_cast<Resolver *>(arg);
  ares_process_fd(self->channel_.get(), (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  self->rearmTimer();
}

void Resolver::onTimer(evutil_socket_t, short, void *arg) noexcept {
  auto *self = static_cast<Resolver *>(arg);
  ares_process_fd(self->channel_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->rearmTimer();
}

void Resolver::rearmTimer() {
  if (!channel_) return;
  timeval tv{};
  if (ares_timeout(channel_.get(), nullptr, &tv) == nullptr) {
    evtimer_del(timer_.get());
    return;
  }
  evtimer_add(timer_.get(), &tv);
}

} // namespace regcache::proxy::net
