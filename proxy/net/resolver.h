#pragma once
// Asynchronous DNS through c-ares, driven by one worker's event loop. c-ares 1.18 has no
// event-thread API, so sockets are watched through sock_state_cb and timeouts through
// ares_timeout. Answers are kept in a per-worker DnsCache for their TTL, and a server that timed
// out is moved behind the others (DnsServerOrder), so a dead first --dns-server costs one
// timeout, not one per lookup.
#include <ares.h>
#include <event2/event.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/event_handles.h"
#include "base/handle.h"
#include "base/result.h"
#include "proxy/net/dns_cache.h"
#include "proxy/net/dns_server_order.h"
#include "proxy/net/socket_address.h"

namespace regcache::proxy::net {

// "localhost" and names under .localhost (RFC 6761), case-insensitive, trailing dot allowed.
bool isLocalhostName(std::string_view host);

using AresChannelPtr = Handle<ares_channeldata, ares_destroy>;

class Resolver {
public:
  using Addresses = std::vector<SocketAddress>;
  using Callback = std::function<void(Result<Addresses>)>;

  // A lookup in flight. Destroying or cancel()ing it guarantees the callback never runs.
  class Lookup {
  public:
    void cancel() { callback_ = nullptr; }

  private:
    friend class Resolver;
    Resolver *resolver_ = nullptr;
    Callback callback_;
    std::string host_;
    uint16_t port_ = 0;
    int pending_ = 0;
    bool delivered_ = false;
    Addresses v6_, v4_;
    std::string lastError_;
    bool missing_ = true; // every family answered "no such name/no data" (cacheable)
    int ttl_ = INT32_MAX; // the smallest TTL among the addresses, in seconds
    EventPtr grace_;      // the resolution delay once one family has answered
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    bool patient_ = true; // no dead server known when it began: wait kFamilyPatience
  };

  struct CacheTtls {
    std::chrono::milliseconds maxTtl{0};      // cap on a positive answer's TTL; 0: none kept
    std::chrono::milliseconds negativeTtl{0}; // how long "no such name" is kept; 0: not kept
  };

  // Once one family has addresses, the other is waited for until kFamilyPatience has passed
  // since the lookup began: long enough for one c-ares try at a dead first server (2 s) and the
  // answer of the next, so a dual-stack name keeps its IPv6 addresses. Once a dead server is
  // known (moved behind the others), only kResolutionDelay (RFC 8305's): a family still pending
  // then is retrying that dead server after a healthy one refused it (dnsmasq refuses AAAA), and
  // must not hold the answer for the seconds c-ares' retries take.
  static constexpr std::chrono::milliseconds kResolutionDelay{50};
  static constexpr std::chrono::milliseconds kFamilyPatience{2500};

  // servers: "IP", "IP:PORT" or "[IPv6]:PORT"; empty uses the system configuration.
  // Throws std::runtime_error if c-ares cannot be set up (start-up only).
  // `order` is the shared server order (see DnsServerOrder), built from the same list; it must
  // outlive the resolver.
  Resolver(event_base *base, const std::vector<std::string> &servers, DnsServerOrder &order,
           CacheTtls ttls);
  ~Resolver();
  Resolver(const Resolver &) = delete;
  Resolver &operator=(const Resolver &) = delete;

  // Resolves host (a name or an IP literal) to addresses with `port` filled in, IPv6 first
  // then IPv4. Both families are asked separately, so a failure of one (dnsmasq answers AAAA with
  // REFUSED) does not fail the host. The callback runs later on this loop, never inside resolve().
  // The returned Lookup must outlive the wish to be called back; drop it to cancel.
  std::shared_ptr<Lookup> resolve(const std::string &host, uint16_t port, Callback callback);

private:
  struct Query; // one ares_getaddrinfo call
  // One c-ares channel and the sockets it watches. c-ares 1.18 refuses new servers while
  // queries are active, so a new server order gets a new channel; the old one finishes its
  // queries and is freed.
  struct Channel {
    Resolver *resolver = nullptr;
    AresChannelPtr handle;
    std::map<ares_socket_t, EventPtr> sockets;
    int active = 0; // queries in flight
  };

  static void onSockState(void *data, ares_socket_t fd, int readable, int writable) noexcept;
  static void onSocketEvent(evutil_socket_t fd, short what, void *arg) noexcept;
  static void onTimer(evutil_socket_t, short, void *arg) noexcept;
  static void onAddrInfo(void *arg, int status, int timeouts, ares_addrinfo *result) noexcept;
  static void onLiteral(evutil_socket_t, short, void *arg) noexcept;
  static void onGrace(evutil_socket_t, short, void *arg) noexcept;
  static void onReapChannels(evutil_socket_t, short, void *arg) noexcept;

  // A channel asking `servers` (comma-separated; empty: the system's). Throws at start-up.
  std::unique_ptr<Channel> makeChannel(const std::string &servers);
  void updateSocket(Channel &channel, ares_socket_t fd, bool readable, bool writable);
  void rearmTimer();
  static void finishQuery(Query *query, int status, int timeouts, ares_addrinfo *result);
  // Delivers a lookup once: caches the answer, then calls back.
  void deliver(Lookup &lookup);
  // Sends later queries to a new channel with the shared order, if it changed since.
  void followServerOrder();

  event_base *base_;
  EventPtr timer_;
  EventPtr reaper_;
  DnsCache cache_;
  DnsServerOrder &servers_;
  unsigned appliedGeneration_ = 0; // the shared order's generation channel_ asks in
  bool systemServers_;
  std::unique_ptr<Channel> channel_;               // where new queries go
  std::vector<std::unique_ptr<Channel>> retiring_; // finishing queries under an older order
};

} // namespace regcache::proxy::net
