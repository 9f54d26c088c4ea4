#pragma once
// Request targets that name another host: CONNECT's authority-form and absolute URLs.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace regcache::proxy::http {

struct HostPort {
  std::string host; // lowercased, IPv6 without brackets
  std::uint16_t port = 0;
  bool ipv6Literal = false;
};

// "host:port" or "[v6]:port", as CONNECT sends it. The port is required (1..65535). Rejects
// userinfo, paths, empty or invalid hosts.
Result<HostPort> parseConnectTarget(std::string_view target);

struct AbsoluteUrl {
  std::string scheme; // lowercased: "http" or "https" (others are accepted and left to callers)
  HostPort authority; // port defaults to 80 for http, 443 for https
  std::string pathAndQuery; // "/" when the URL has no path
};

// A Host field's value: "host", "host:port", "[v6]" or "[v6]:port", surrounding blanks
// ignored. port is 0 when the value names none. Rejects userinfo, paths and invalid hosts.
Result<HostPort> parseHostField(std::string_view value);

// "http://host[:port][/path][?query]". A fragment is dropped.
Result<AbsoluteUrl> parseAbsoluteUrl(std::string_view target);

// host:port for a Host header or a log line: brackets for IPv6, and no port when it equals
// defaultPort (pass 0 to always print it).
std::string formatAuthority(const HostPort &hostPort, std::uint16_t defaultPort = 0);

// The name a registry's content is cached under: host[:port] when it is reached over TLS,
// "http://host[:port]" in the clear. Whoever answers plain HTTP on a registry's host and port is
// not that registry, so content it served over TLS is never credited to, confirmed by or shared
// with the cleartext one.
std::string registryKey(const HostPort &hostPort, bool tls);

} // namespace regcache::proxy::http
