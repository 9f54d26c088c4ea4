#include "proxy/net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace regcache::proxy::net {

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
  }
  return 0;
}

void SocketAddress::setPort(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in *>(&storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6 *>(&storage)->sin6_port = htons(port);
}

std::string SocketAddress::ipString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(&storage)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_addr, buf,
              sizeof buf);
  }
  return buf;
}

std::string SocketAddress::toString() const {
  if (family() == AF_INET6) return "[" + ipString() + "]:" + std::to_string(port());
  return ipString() + ":" + std::to_string(port());
}

std::optional<SocketAddress> SocketAddress::fromIp(const std::string &ip, uint16_t port) {
  SocketAddress out;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&out.storage);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&out.storage);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr *addr, socklen_t length) {
  SocketAddress out;
  if (length > sizeof(out.storage)) length = sizeof(out.storage);
  std::memcpy(&out.storage, addr, length);
  out.length = length;
  return out;
}

bool isIpLiteral(const std::string &host) { return SocketAddress::fromIp(host, 0).has_value(); }

} // namespace regcache::proxy::net
