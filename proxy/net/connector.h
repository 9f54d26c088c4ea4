#pragma once
// Opens one connection to an upstream: resolve through c-ares, then try each address in turn
// (IPv6 first, then IPv4, so a host reachable over only one family still works), then the TLS
// handshake with verification when asked. The result is a ready bufferevent.
// With a parent proxy (ConnectSettings::parent) the parent's name is resolved and connected to
// instead, a CONNECT to the endpoint opens a tunnel through it, and TLS (verified against the
// endpoint's name) or plain HTTP runs through that tunnel: the endpoint's name is never resolved
// here, the parent does it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/event_handles.h"
#include "base/openssl_handles.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "proxy/http/connect_answer.h"
#include "proxy/net/parent_proxy.h"
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
  // Set: connect through this parent proxy, unless its exceptions cover the endpoint (then
  // directly, as if unset). Its own addresses are not judged by `admit` (the
  // operator named it); an endpoint named by an IP literal still is, before any connection.
  std::shared_ptr<const ParentProxy> parent{};
  // With a parent, for an endpoint named by a name: judges the name and port alone, since no
  // address is resolved here. A reason to refuse fails with Error::kPolicy, nothing sent.
  std::function<std::optional<std::string>(const std::string &host, std::uint16_t port)>
      admitName{};
  // With a parent: the longest answer head to CONNECT, and how long the whole answer may take
  // (one deadline from the request, not renewed by each byte).
  std::size_t parentAnswerMaxBytes = 16 * 1024;
  std::chrono::milliseconds parentAnswerTimeout{10000};
};

// Whether a Connector with `settings` reaches `endpoint` through the parent proxy: one is set
// and its --upstream-no-proxy exceptions do not cover the endpoint.
bool throughParent(const ConnectSettings &settings, const Endpoint &endpoint);
// Through a parent, what the proxy can judge without resolving: the name's characters (it goes
// into the CONNECT line), an IP literal by `admit`, a name by `admitName`. A reason to refuse,
// or nothing. For callers that decide before connecting (an intercepted CONNECT).
std::optional<std::string> refuseThroughParent(const ConnectSettings &settings,
                                               const Endpoint &endpoint);

class Connector {
public:
  // On success the bufferevent is connected (and handshaken for TLS), has no callbacks set, and is
  // disabled; it owns its socket. The peer address is the one that answered (the parent's, with
  // a parent proxy). A parent's refusal or malformed answer fails with Error::kUpstream, its
  // silence with Error::kTimeout.
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
  static void onParentReadable(evutil_socket_t fd, short what, void *arg) noexcept;

  void onResolved(Result<Resolver::Addresses> addresses);
  void tryNextAddress();
  void onTcpResult(short what);
  void sendConnect();
  void awaitParentAnswer();
  void onParentAnswer(short what);
  void startOriginSession();
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
  // Through a parent: its answer so far, and when it must have ended.
  std::unique_ptr<http::ConnectAnswer> parentAnswer_;
  std::chrono::steady_clock::time_point parentDeadline_;
};

} // namespace regcache::proxy::net
