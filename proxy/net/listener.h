#pragma once
// A listening socket on one worker's loop. Every worker binds the same address with
// SO_REUSEPORT, so the kernel spreads accepted connections across workers; or every worker
// accepts on its own duplicate of one inherited socket (socket activation).
#include <functional>
#include <string>

#include "base/event_handles.h"
#include "base/result.h"
#include "proxy/net/socket_address.h"

namespace regcache::proxy::net {

class Listener {
public:
  // Called with a connected, non-blocking socket the callee now owns.
  using AcceptCallback = std::function<void(int fd, const SocketAddress &peer)>;

  // Binds and listens. Errors: kIo with the reason (address in use, permission...).
  static Result<std::unique_ptr<Listener>> open(event_base *base, const SocketAddress &address,
                                                AcceptCallback onAccept);
  // Accepts on `fd`, a socket already bound and listening (inherited from a socket unit). The
  // listener takes ownership of `fd` and makes it non-blocking. Errors: kIo with the reason.
  static Result<std::unique_ptr<Listener>> adopt(event_base *base, int fd, AcceptCallback onAccept);
  // The bound address (the real port when asked for port 0).
  SocketAddress localAddress() const;

private:
  Listener() = default;
  static void onAccept(evconnlistener *, evutil_socket_t fd, sockaddr *addr, int length,
                       void *arg) noexcept;
  static void onError(evconnlistener *listener, void *arg) noexcept;

  ListenerPtr listener_;
  AcceptCallback onAccept_;
};

} // namespace regcache::proxy::net
