#include "proxy/net/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace regcache::proxy::net {
namespace {

// The address as 4 or 16 bytes, IPv4-mapped IPv6 unwrapped to IPv4.
std::optional<std::pair<std::array<std::uint8_t, 16>, bool>> bytesOf(const SocketAddress &a) {
  std::array<std::uint8_t, 16> out{};
  if (a.family() == AF_INET) {
    const auto *in = reinterpret_cast<const sockaddr_in *>(&a.storage);
    std::memcpy(out.data(), &in->sin_addr, 4);
    return std::pair{out, true};
  }
  if (a.family() == AF_INET6) {
    const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&a.storage);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      std::memcpy(out.data(), in6->sin6_addr.s6_addr + 12, 4);
      return std::pair{out, true};
    }
    std::memcpy(out.data(), in6->sin6_addr.s6_addr, 16);
    return std::pair{out, false};
  }
  return std::nullopt;
}

} // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  std::string address(text.substr(0, slash));
  Cidr cidr;
  if (inet_pton(AF_INET, address.c_str(), cidr.bytes_.data()) == 1) {
    cidr.v4_ = true;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.bytes_.data()) != 1) {
    return std::nullopt;
  }
  int bits = cidr.v4_ ? 32 : 128;
  cidr.prefix_ = bits;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), cidr.prefix_);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        cidr.prefix_ < 0 || cidr.prefix_ > bits) {
      return std::nullopt;
    }
  }
  return cidr;
}

bool Cidr::contains(const SocketAddress &address) const {
  auto bytes = bytesOf(address);
  if (!bytes || bytes->second != v4_) return false;
  int full = prefix_ / 8;
  if (std::memcmp(bytes->first.data(), bytes_.data(), static_cast<std::size_t>(full)) != 0) {
    return false;
  }
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes->first[static_cast<std::size_t>(full)] & mask) ==
         (bytes_[static_cast<std::size_t>(full)] & mask);
}

std::string Cidr::toString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_);
}

bool anyContains(const std::vector<Cidr> &ranges, const SocketAddress &address) {
  for (const auto &range : ranges) {
    if (range.contains(address)) return true;
  }
  return false;
}

std::optional<EmbeddedIpv4> embeddedIpv4(const SocketAddress &address) {
  if (address.family() != AF_INET6) return std::nullopt;
  const std::uint8_t *b =
      reinterpret_cast<const sockaddr_in6 *>(&address.storage)->sin6_addr.s6_addr;
  static constexpr std::uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b};
  static constexpr std::uint8_t kZero[12] = {};
  static constexpr std::uint8_t kTranslated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
  const std::uint8_t *v4 = nullptr;
  const char *via = nullptr;
  if (std::memcmp(b, kNat64, 12) == 0) {
    v4 = b + 12, via = "NAT64";
  } else if (std::memcmp(b, kTranslated, 12) == 0) {
    v4 = b + 12, via = "IPv4-translated";
  } else if (std::memcmp(b, kZero, 12) == 0) {
    // :: and ::1 are IPv6's own unspecified and loopback addresses, judged as such.
    bool ownSpecial = b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1;
    if (ownSpecial) return std::nullopt;
    v4 = b + 12, via = "IPv4-compatible";
  } else if (b[0] == 0x20 && b[1] == 0x02) {
    v4 = b + 2, via = "6to4";
  } else {
    return std::nullopt;
  }
  EmbeddedIpv4 out{{}, via};
  auto *in = reinterpret_cast<sockaddr_in *>(&out.address.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(address.port());
  std::memcpy(&in->sin_addr, v4, 4);
  out.address.length = sizeof(sockaddr_in);
  return out;
}

} // namespace regcache::proxy::net
