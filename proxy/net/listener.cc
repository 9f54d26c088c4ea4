#include "proxy/net/listener.h"

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace regcache::proxy::net {

Result<std::unique_ptr<Listener>> Listener::open(event_base *base, const SocketAddress &address,
                                                 AcceptCallback onAccept) {
  std::unique_ptr<Listener> self(new Listener());
  self->onAccept_ = std::move(onAccept);
  unsigned flags =
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT;
  if (address.family() == AF_INET6) flags |= LEV_OPT_BIND_IPV6ONLY;
  self->listener_.reset(evconnlistener_new_bind(base, &Listener::onAccept, self.get(), flags, 1024,
                                                address.get(), static_cast<int>(address.length)));
  if (!self->listener_) {
    return fail(Error::kIo, "cannot listen on " + address.toString() + ": " + std::strerror(errno));
  }
  evconnlistener_set_error_cb(self->listener_.get(), &Listener::onError);
  return self;
}

Result<std::unique_ptr<Listener>> Listener::adopt(event_base *base, int fd,
                                                  AcceptCallback onAccept) {
  std::unique_ptr<Listener> self(new Listener());
  self->onAccept_ = std::move(onAccept);
  if (evutil_make_socket_nonblocking(fd) != 0) {
    int saved = errno;
    evutil_closesocket(fd);
    return fail(Error::kIo, std::string("inherited socket: ") + std::strerror(saved));
  }
  // Backlog -1: the socket is listening already, with the backlog its unit chose.
  self->listener_.reset(evconnlistener_new(base, &Listener::onAccept, self.get(),
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd));
  if (!self->listener_) {
    int saved = errno;
    evutil_closesocket(fd);
    return fail(Error::kIo,
                std::string("cannot accept on an inherited socket: ") + std::strerror(saved));
  }
  evconnlistener_set_error_cb(self->listener_.get(), &Listener::onError);
  return self;
}

SocketAddress Listener::localAddress() const {
  SocketAddress out;
  out.length = sizeof out.storage;
  getsockname(evconnlistener_get_fd(listener_.get()), reinterpret_cast<sockaddr *>(&out.storage),
              &out.length);
  return out;
}

void Listener::onAccept(evconnlistener *, evutil_socket_t fd, sockaddr *addr, int length,
                        void *arg) noexcept {
  auto *self = static_cast<Listener *>(arg);
  self->onAccept_(fd, SocketAddress::fromSockaddr(addr, static_cast<socklen_t>(length)));
}

void Listener::onError(evconnlistener *, void *) noexcept {
  // EMFILE and friends: log and keep listening; libevent retries on the next readiness.
  log::proxy().error("accept failed: {}", std::strerror(errno));
}

} // namespace regcache::proxy::net
