#pragma once
// A resolved IPv4 or IPv6 endpoint, copyable and printable.
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace regcache::proxy::net {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  // "1.2.3.4:80" or "[::1]:80".
  std::string toString() const;
  // The address alone, without port or brackets.
  std::string ipString() const;

  // Parses an IPv4 or IPv6 literal (no brackets) with a port; nullopt if `ip` is not a literal.
  static std::optional<SocketAddress> fromIp(const std::string &ip, uint16_t port);
  static SocketAddress fromSockaddr(const sockaddr *addr, socklen_t length);
};

// True if `host` is an IPv4 or IPv6 literal (IPv6 without brackets).
bool isIpLiteral(const std::string &host);

} // namespace regcache::proxy::net
