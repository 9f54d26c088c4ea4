#pragma once
// Opens one connection to an upstream: resolve through c-ares, then try each address in turn
// (IPv6 first, then IPv4, so a host reachable over only one family still works), then the TLS
// handshake with verification when asked. The result is a ready bufferevent.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/event_handles.h"
#include "base/openssl_handles.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "proxy/net/resolver.h"

namespace regcache::proxy::net {

struct Endpoint {
  std::string host; // a name or an IP literal, without brackets
  uint16_t port = 0;
  bool tls = false;
};

struct ConnectSettings {
  SSL_CTX *tlsContext = nullptr; // required when the endpoint is TLS
  std::chrono::milliseconds connectTimeout{10000};
  std::chrono::milliseconds handshakeTimeout{10000};
  // Judges each resolved address (port set): a reason to refuse it, or nothing. Only admitted
  // addresses are connected to; none admitted fails with Error::kPolicy and no connection made.
  std::function<std::optional<std::string>(const SocketAddress &)> admit;
};

class Connector {
public:
  // On success the bufferevent is connected (and handshaken for TLS), has no callbacks set, and is
  // disabled; it owns its socket. The peer address is the one that answered.
  struct Connection {
    BufferEventPtr bev;
    SocketAddress peer;
  };
  using Callback = std::function<void(Result<Connection>)>;

  // logPrefix starts every log line ("[c42]"). The callback runs at most once, from the loop, and
  // may destroy this Connector. Destroying it earlier cancels the attempt.
  Connector(event_base *base, Resolver &resolver, ConnectSettings settings, Endpoint endpoint,
            std::string logPrefix, Callback callback);
  ~Connector();
  Connector(const Connector &) = delete;
  Connector &operator=(const Connector &) = delete;

  void start();

private:
  static void onWritable(evutil_socket_t fd, short what, void *arg) noexcept;
  static void onTlsEvent(bufferevent *bev, short what, void *arg) noexcept;

  void onResolved(Result<Resolver::Addresses> addresses);
  void tryNextAddress();
  void onTcpResult(short what);
  void startTls();
  void onTlsResult(short what);
  void finish(Result<Connection> result);

  event_base *base_;
  Resolver &resolver_;
  ConnectSettings settings_;
  Endpoint endpoint_;
  std::string logPrefix_;
  Callback callback_;

  std::shared_ptr<Resolver::Lookup> lookup_;
  Resolver::Addresses addresses_;
  std::size_t nextAddress_ = 0;
  std::string lastError_;
  UniqueFd fd_;
  EventPtr connectEvent_;
  BufferEventPtr tlsBev_;
};

} // namespace regcache::proxy::net
