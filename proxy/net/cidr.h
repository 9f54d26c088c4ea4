#pragma once
// An IPv4 or IPv6 address range ("10.0.0.0/8", "fc00::/7", or one address). IPv4 addresses
// seen as IPv4-mapped IPv6 (::ffff:10.1.2.3, as a dual-stack socket reports them) match IPv4
// ranges.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/net/socket_address.h"

namespace regcache::proxy::net {

class Cidr {
public:
  // nullopt for anything but ADDRESS or ADDRESS/PREFIX with a prefix that fits the family.
  static std::optional<Cidr> parse(std::string_view text);

  bool contains(const SocketAddress &address) const;
  std::string toString() const;

private:
  std::array<std::uint8_t, 16> bytes_{};
  int prefix_ = 0;
  bool v4_ = false;
};

bool anyContains(const std::vector<Cidr> &ranges, const SocketAddress &address);

// An IPv4 destination hidden inside an IPv6 address that reaches it through a translator or a
// tunnel: NAT64 (64:ff9b::/96, RFC 6052: the last 32 bits), IPv4-compatible (::a.b.c.d, the
// last 32 bits), SIIT IPv4-translated (::ffff:0:a.b.c.d) and 6to4 (2002::/16, bits 16..48).
// IPv4-mapped (::ffff:a.b.c.d) is not listed: Cidr::contains already treats it as IPv4.
struct EmbeddedIpv4 {
  SocketAddress address; // AF_INET, with the port of the IPv6 address
  const char *via;       // "NAT64", "6to4", ... for messages
};
// The IPv4 address `address` leads to, or nullopt for IPv4 and any other IPv6 address.
std::optional<EmbeddedIpv4> embeddedIpv4(const SocketAddress &address);

} // namespace regcache::proxy::net
