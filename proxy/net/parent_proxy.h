#pragma once
// The parent proxy every upstream connection goes through (--upstream-proxy): a corporate
// proxy, or another regcache one tier up. regcache asks it for a tunnel with CONNECT host:port,
// then speaks to the origin through it exactly as it would directly (TLS verified against the
// origin's name, or plain HTTP), so the parent sees only which host:port is asked for.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proxy/net/no_proxy.h"

namespace regcache::proxy::net {

struct ParentProxy {
  std::string host; // a name or an IP literal, without brackets
  std::uint16_t port = 0;
  // The Proxy-Authorization value ("Basic ...") sent with each CONNECT; empty: none. A secret:
  // never logged.
  std::string authorization;
  // Hosts reached directly instead (--upstream-no-proxy).
  NoProxyList exceptions;

  // "host:port" (brackets for IPv6) for log lines: never the credentials.
  std::string display() const;
  // Whether a connection to host:port goes through this parent (not one of the exceptions).
  bool carries(std::string_view originHost, std::uint16_t originPort) const {
    return !exceptions.covers(originHost, originPort);
  }
};

// "http://HOST:PORT" or "http://USER:PASSWORD@HOST:PORT" (percent-encoded user and password, as
// in curl's and Go's proxy URLs), a trailing "/" allowed. The port is required: there is no
// agreed default for proxies. Other schemes (https://, socks5://) are refused, since regcache
// speaks plain HTTP CONNECT to its parent. Failures name the flag but never the password.
Result<ParentProxy> parseParentProxyUrl(std::string_view url);

// The CONNECT request for originHost:originPort (a name or an IP literal without brackets),
// with Host and, when the parent has credentials, Proxy-Authorization.
std::string connectRequest(const ParentProxy &parent, const std::string &originHost,
                           std::uint16_t originPort);

} // namespace regcache::proxy::net
