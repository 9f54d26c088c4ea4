#pragma once
// What the proxy may connect to. A MITM proxy that anyone on a network can use must not become a
// way into that network: by default it refuses link-local and cloud metadata addresses, its own
// listen addresses, loopback and private ranges, and ports below 1024 other than 80 and 443.
// --allow-target opens ranges, hosts or ports again (a registry on the LAN); --deny-target closes
// more, and wins over everything. Addresses are judged after resolving, and the proxy connects to
// exactly the address it judged, so DNS rebinding cannot get around it. An IPv6 address that
// leads to an IPv4 one (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16, IPv4-compatible) is
// judged by that IPv4 address as well; Teredo (2001::/32) is refused, since where it leads
// cannot be known.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/net/cidr.h"
#include "proxy/net/socket_address.h"

namespace regcache::proxy {

// "10.0.0.0/8", "10.1.2.3:5000", "[fd00::/8]:443", "fd00::/8", "registry.lan", "*.corp:5000".
// Without a port a rule covers every port.
struct TargetRule {
  std::optional<net::Cidr> range;
  std::string hostPattern; // see hostMatches() in proxy/policy.h
  std::optional<std::uint16_t> port;
  std::string text; // as given, for messages

  static std::optional<TargetRule> parse(std::string_view text);
  bool matches(std::string_view host, const net::SocketAddress &address) const;
};

class TargetPolicy {
public:
  TargetPolicy(std::vector<TargetRule> allow, std::vector<TargetRule> deny,
               std::vector<net::SocketAddress> ownAddresses);

  // Judged on the name alone, before any lookup: only --deny-target host rules.
  std::optional<std::string> refuseName(std::string_view host, std::uint16_t port) const;
  // Through a parent proxy (--upstream-proxy), which resolves `host` itself: what can still be
  // judged without an address. --deny-target host rules; "localhost" and names under
  // ".localhost" (RFC 6761: loopback wherever they are resolved, the parent's own services);
  // and the port rule (below 1024 only 80 and 443). A --allow-target host rule covering the name
  // (and port) opens the last two. `host` must not be an IP literal: judge those with
  // refuseAddress.
  std::optional<std::string> refuseUnresolved(std::string_view host, std::uint16_t port) const;
  // Why connecting to `address` (with the target port set) for `host` is refused, or nothing.
  std::optional<std::string> refuseAddress(std::string_view host,
                                           const net::SocketAddress &address) const;

private:
  std::vector<TargetRule> allow_;
  std::vector<TargetRule> deny_;
  std::vector<net::SocketAddress> own_;
};

// The Connector's admit hook (net::ConnectSettings::admit) for connections to `host`.
std::function<std::optional<std::string>(const net::SocketAddress &)>
admitter(std::shared_ptr<const TargetPolicy> policy, std::string host);

// The Connector's admitName hook (net::ConnectSettings::admitName), used through a parent proxy.
std::function<std::optional<std::string>(const std::string &, std::uint16_t)>
nameAdmitter(std::shared_ptr<const TargetPolicy> policy);

// Parses --allow-target / --deny-target values; throws std::invalid_argument naming a bad one.
std::vector<TargetRule> parseTargetRules(const std::vector<std::string> &texts);

} // namespace regcache::proxy
