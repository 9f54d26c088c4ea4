#include "proxy/net/resolver.h"

#include <algorithm>
#include <cctype>

#include <netdb.h>

#include <stdexcept>

#include "base/log.h"

namespace regcache::proxy::net {
namespace {

constexpr unsigned kNoGeneration = ~0u;

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

} // namespace

struct Resolver::Query {
  Channel *channel;
  std::shared_ptr<Lookup> lookup;
  int family;
  unsigned generation = kNoGeneration; // the server order it was sent with
};

Resolver::Resolver(event_base *base, const std::vector<std::string> &servers, DnsServerOrder &order,
                   CacheTtls ttls)
    : base_(base), cache_(ttls.maxTtl, ttls.negativeTtl), servers_(order),
      systemServers_(servers.empty()) {
  timer_.reset(evtimer_new(base_, &Resolver::onTimer, this));
  reaper_.reset(evtimer_new(base_, &Resolver::onReapChannels, this));
  auto now = servers_.snapshot();
  appliedGeneration_ = now.generation;
  channel_ = makeChannel(now.servers);
}

std::unique_ptr<Resolver::Channel> Resolver::makeChannel(const std::string &servers) {
  auto channel = std::make_unique<Channel>();
  channel->resolver = this;
  ares_options options{};
  options.sock_state_cb = &Resolver::onSockState;
  options.sock_state_cb_data = channel.get();
  options.timeout = 2000; // ms per try; a dead server must not stall a pull for long
  options.tries = 2;
  ares_channel handle = nullptr;
  int rc = ares_init_options(&handle, &options,
                             ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares init failed: ") + ares_strerror(rc));
  }
  channel->handle.reset(handle);
  if (!systemServers_) {
    rc = ares_set_servers_ports_csv(handle, servers.c_str());
    if (rc != ARES_SUCCESS) {
      throw std::runtime_error("bad --dns-server list '" + servers + "': " + ares_strerror(rc));
    }
  }
  return channel;
}

Resolver::~Resolver() {
  // ares_destroy runs pending callbacks with ARES_EDESTRUCTION; they only free their Query.
  for (auto &channel : retiring_)
    channel->handle.reset();
  if (channel_) channel_->handle.reset();
  retiring_.clear();
  channel_.reset();
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
  lookup->resolver_ = this;
  lookup->callback_ = std::move(callback);
  lookup->host_ = host;
  lookup->port_ = port;

  if (isLocalhostName(host)) {
    // RFC 6761: localhost names are loopback, never asked of DNS (and c-ares 1.18 leaks on its
    // own localhost path).
    lookup->v6_.push_back(*SocketAddress::fromIp("::1", port));
    lookup->v4_.push_back(*SocketAddress::fromIp("127.0.0.1", port));
    auto *query = new Query{nullptr, lookup, AF_UNSPEC};
    event_base_once(base_, -1, EV_TIMEOUT, &Resolver::onLiteral, query, nullptr);
    return lookup;
  }
  if (auto literal = SocketAddress::fromIp(host, port)) {
    (literal->family() == AF_INET6 ? lookup->v6_ : lookup->v4_).push_back(*literal);
    // Deliver on the next loop turn so callers never see a callback from inside resolve().
    auto *query = new Query{nullptr, lookup, AF_UNSPEC};
    event_base_once(base_, -1, EV_TIMEOUT, &Resolver::onLiteral, query, nullptr);
    return lookup;
  }

  auto now = DnsCache::Clock::now();
  if (auto cached = cache_.find(host, now)) {
    for (auto address : cached->addresses) {
      address.setPort(port);
      (address.family() == AF_INET6 ? lookup->v6_ : lookup->v4_).push_back(address);
    }
    lookup->lastError_ = cached->failure;
    log::dns().debug("{}: from the cache ({})", host,
                     cached->failure.empty() ? "addresses" : "no such name");
    auto *query = new Query{nullptr, lookup, AF_UNSPEC};
    event_base_once(base_, -1, EV_TIMEOUT, &Resolver::onLiteral, query, nullptr);
    return lookup;
  }
  if (auto order = servers_.beforeLookup(now)) {
    log::dns().info("trying the DNS servers in their configured order again: {}", *order);
  }
  followServerOrder();

  lookup->grace_.reset(evtimer_new(base_, &Resolver::onGrace, lookup.get()));
  lookup->patient_ = !servers_.snapshot().reordered;
  for (int family : {AF_INET6, AF_INET}) {
    ares_addrinfo_hints hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    ++lookup->pending_;
    ++channel_->active;
    // Owned by c-ares until onAddrInfo, which deletes it.
    auto *query = new Query{channel_.get(), lookup, family, appliedGeneration_};
    ares_getaddrinfo(channel_->handle.get(), host.c_str(), nullptr, &hints, &Resolver::onAddrInfo,
                     query);
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
  if (all.empty()) {
    callback(fail(Error::kDns, "cannot resolve " + lookup.host_ + " (" + lookup.lastError_ + ")"));
    return;
  }
  callback(std::move(all));
}

void Resolver::onAddrInfo(void *arg, int status, int timeouts, ares_addrinfo *result) noexcept {
  finishQuery(static_cast<Query *>(arg), status, timeouts, result);
}

void Resolver::finishQuery(Query *raw, int status, int timeouts, ares_addrinfo *result) {
  std::unique_ptr<Query> query(raw);
  auto &lookup = *query->lookup;
  if (status == ARES_EDESTRUCTION) {
    if (result != nullptr) ares_freeaddrinfo(result);
    return; // the channel is going away: nothing to cache, nobody to call
  }
  auto *self = query->channel->resolver;
  --query->channel->active;
  if (query->channel != self->channel_.get() && query->channel->active == 0) {
    // A retired channel's last query: free it on the next loop turn, not inside its callback.
    timeval now{};
    evtimer_add(self->reaper_.get(), &now);
  }
  if (auto order =
          self->servers_.onQueryDone(timeouts, query->generation, DnsCache::Clock::now())) {
    log::dns().warn("a DNS server timed out; asking in this order from now on: {}", *order);
  }
  self->followServerOrder();
  if (status == ARES_SUCCESS && result != nullptr) {
    for (auto *node = result->nodes; node != nullptr; node = node->ai_next) {
      if (node->ai_family != AF_INET && node->ai_family != AF_INET6) continue;
      auto address = SocketAddress::fromSockaddr(node->ai_addr, node->ai_addrlen);
      address.setPort(lookup.port_);
      (node->ai_family == AF_INET6 ? lookup.v6_ : lookup.v4_).push_back(address);
      lookup.ttl_ = std::min(lookup.ttl_, std::max(node->ai_ttl, 0));
    }
  } else {
    lookup.lastError_ =
        std::string(query->family == AF_INET6 ? "AAAA: " : "A: ") + ares_strerror(status);
  }
  // Only the DNS saying the name has no such record is an answer worth keeping; a timeout or a
  // refusal says nothing about the name.
  if (status != ARES_ENOTFOUND && status != ARES_ENODATA) lookup.missing_ = false;
  if (result != nullptr) ares_freeaddrinfo(result);
  if (--lookup.pending_ > 0) {
    if (!lookup.v6_.empty() || !lookup.v4_.empty()) {
      auto left = lookup.patient_
                      ? std::chrono::duration_cast<std::chrono::milliseconds>(
                            lookup.started_ + kFamilyPatience - std::chrono::steady_clock::now())
                      : kResolutionDelay;
      timeval delay = toTimeval(std::max(left, kResolutionDelay));
      evtimer_add(lookup.grace_.get(), &delay);
    }
    return;
  }
  self->deliver(lookup);
}

void Resolver::onGrace(evutil_socket_t, short, void *arg) noexcept {
  auto *lookup = static_cast<Lookup *>(arg);
  lookup->missing_ = false; // an answer with addresses, whatever the other family says later
  lookup->resolver_->deliver(*lookup);
}

void Resolver::deliver(Lookup &lookup) {
  if (lookup.delivered_) return;
  lookup.delivered_ = true;
  if (lookup.grace_) evtimer_del(lookup.grace_.get());
  Addresses all = lookup.v6_;
  all.insert(all.end(), lookup.v4_.begin(), lookup.v4_.end());
  auto now = DnsCache::Clock::now();
  if (!all.empty()) {
    Addresses portless = all;
    for (auto &address : portless)
      address.setPort(0);
    cache_.storeAddresses(lookup.host_, std::move(portless), std::chrono::seconds(lookup.ttl_),
                          now);
  } else if (lookup.missing_) {
    cache_.storeMissing(lookup.host_, lookup.lastError_, now);
  }
  if (!lookup.callback_) return;
  auto callback = std::move(lookup.callback_);
  if (all.empty()) {
    callback(fail(Error::kDns, "cannot resolve " + lookup.host_ + " (" + lookup.lastError_ + ")"));
    return;
  }
  callback(std::move(all));
}

void Resolver::followServerOrder() {
  auto latest = servers_.snapshot();
  if (latest.generation == appliedGeneration_) return;
  std::unique_ptr<Channel> next;
  try {
    next = makeChannel(latest.servers);
  } catch (const std::exception &e) {
    log::dns().error("cannot reorder the DNS servers ({}): {}", latest.servers, e.what());
    return;
  }
  appliedGeneration_ = latest.generation;
  auto old = std::move(channel_);
  channel_ = std::move(next);
  if (old->active > 0) {
    retiring_.push_back(std::move(old));
    return;
  }
  // Idle: free it on the next loop turn (this may run inside one of its callbacks).
  retiring_.push_back(std::move(old));
  timeval now{};
  evtimer_add(reaper_.get(), &now);
}

void Resolver::onReapChannels(evutil_socket_t, short, void *arg) noexcept {
  auto *self = static_cast<Resolver *>(arg);
  std::erase_if(self->retiring_, [](const auto &channel) { return channel->active == 0; });
  self->rearmTimer();
}

void Resolver::onSockState(void *data, ares_socket_t fd, int readable, int writable) noexcept {
  auto *channel = static_cast<Channel *>(data);
  channel->resolver->updateSocket(*channel, fd, readable != 0, writable != 0);
}

void Resolver::updateSocket(Channel &channel, ares_socket_t fd, bool readable, bool writable) {
  if (!readable && !writable) {
    channel.sockets.erase(fd);
    return;
  }
  short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  EventPtr ev(event_new(base_, fd, what, &Resolver::onSocketEvent, &channel));
  event_add(ev.get(), nullptr);
  channel.sockets[fd] = std::move(ev); // replaces (and frees) any previous event for this socket
}

void Resolver::onSocketEvent(evutil_socket_t fd, short what, void *arg) noexcept {
  auto *channel = static_cast<Channel *>(arg);
  auto *self = channel->resolver;
  ares_process_fd(channel->handle.get(), (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  self->rearmTimer();
}

void Resolver::onTimer(evutil_socket_t, short, void *arg) noexcept {
  auto *self = static_cast<Resolver *>(arg);
  // Copied: a timeout may retire the current channel (switchServers) while we iterate.
  std::vector<Channel *> channels;
  if (self->channel_) channels.push_back(self->channel_.get());
  for (auto &channel : self->retiring_)
    channels.push_back(channel.get());
  for (auto *channel : channels)
    ares_process_fd(channel->handle.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->rearmTimer();
}

void Resolver::rearmTimer() {
  std::optional<timeval> soonest;
  auto consider = [&](Channel &channel) {
    if (!channel.handle) return;
    timeval tv{};
    if (ares_timeout(channel.handle.get(), nullptr, &tv) == nullptr) return;
    if (!soonest || timercmp(&tv, &*soonest, <)) soonest = tv;
  };
  if (channel_) consider(*channel_);
  for (auto &channel : retiring_)
    consider(*channel);
  if (!soonest) {
    evtimer_del(timer_.get());
    return;
  }
  evtimer_add(timer_.get(), &*soonest);
}

} // namespace regcache::proxy::net
