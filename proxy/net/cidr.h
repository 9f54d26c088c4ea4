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

} // namespace regcache::proxy::net
