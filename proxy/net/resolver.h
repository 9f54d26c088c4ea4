#pragma once
// Asynchronous DNS through c-ares, driven by one worker's event loop. c-ares 1.18 has no
// event-thread API, so sockets are watched through sock_state_cb and timeouts through
// ares_timeout.
#include <ares.h>
#include <event2/event.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/event_handles.h"
#include "base/handle.h"
#include "base/result.h"
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
    Callback callback_;
    std::string host_;
    uint16_t port_ = 0;
    int pending_ = 0;
    Addresses v6_, v4_;
    std::string lastError_;
  };

  // servers: "IP", "IP:PORT" or "[IPv6]:PORT"; empty uses the system configuration.
  // Throws std::runtime_error if c-ares cannot be set up (start-up only).
  Resolver(event_base *base, const std::vector<std::string> &servers);
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

  static void onSockState(void *data, ares_socket_t fd, int readable, int writable) noexcept;
  static void onSocketEvent(evutil_socket_t fd, short what, void *arg) noexcept;
  static void onTimer(evutil_socket_t, short, void *arg) noexcept;
  static void onAddrInfo(void *arg, int status, int timeouts, ares_addrinfo *result) noexcept;
  static void onLiteral(evutil_socket_t, short, void *arg) noexcept;

  void updateSocket(ares_socket_t fd, bool readable, bool writable);
  void rearmTimer();
  static void finishQuery(Query *query, int status, ares_addrinfo *result);

  event_base *base_;
  AresChannelPtr channel_;
  EventPtr timer_;
  std::map<ares_socket_t, EventPtr> sockets_;
};

} // namespace regcache::proxy::net
