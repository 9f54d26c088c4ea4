#include "proxy/access/target_policy.h"

#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "proxy/access/policy.h"

namespace regcache::proxy {
namespace {

struct SpecialRange {
  net::Cidr range;
  const char *what;
};

// Refused unless an --allow-target rule covers them. Metadata first: the more precise name.
const std::vector<SpecialRange> &specialRanges() {
  static const std::vector<SpecialRange> ranges = [] {
    std::vector<SpecialRange> out;
    for (auto [text, what] : std::initializer_list<std::pair<const char *, const char *>>{
             {"169.254.169.254/32", "a cloud metadata address"},
             {"fd00:ec2::254/128", "a cloud metadata address"},
             {"100.100.100.200/32", "a cloud metadata address"},
             {"168.63.129.16/32", "a cloud metadata address (Azure's wire server)"},
             {"169.254.0.0/16", "a link-local address"},
             {"fe80::/10", "a link-local address"},
             {"127.0.0.0/8", "a loopback address"},
             {"::1/128", "a loopback address"},
             {"10.0.0.0/8", "a private address"},
             {"172.16.0.0/12", "a private address"},
             {"192.168.0.0/16", "a private address"},
             {"100.64.0.0/10", "a private (shared) address"},
             {"fc00::/7", "a private address"},
             {"0.0.0.0/8", "an unspecified address"},
             {"::/128", "an unspecified address"},
             {"224.0.0.0/3", "a multicast or reserved address"},
             {"ff00::/8", "a multicast address"},
             // Teredo leads through a public relay to a host behind some NAT: the client
             // IPv4 it carries (obfuscated) is the NAT's, never where the bytes end up, so there
             // is nothing to judge. No registry is reached over Teredo.
             {"2001::/32", "a Teredo address"},
             // RFC 8215 local-use NAT64: the operator's own translator, whose IPv4 embedding
             // may use any RFC 6052 format, so the embedded address cannot be judged reliably.
             {"64:ff9b:1::/48", "a local-use NAT64 address"}}) {
      out.push_back({*net::Cidr::parse(text), what});
    }
    return out;
  }();
  return ranges;
}

bool isHostPattern(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != '*' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

bool sameAddress(const net::SocketAddress &a, const net::SocketAddress &b) {
  return a.ipString() == b.ipString();
}

bool unspecified(const net::SocketAddress &a) {
  return a.ipString() == "0.0.0.0" || a.ipString() == "::";
}

} // namespace

std::optional<TargetRule> TargetRule::parse(std::string_view text) {
  TargetRule rule;
  rule.text = std::string(text);
  std::string_view main = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    main = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    main = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return std::nullopt;
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    rule.port = static_cast<std::uint16_t>(value);
  }
  if ((rule.range = net::Cidr::parse(main))) return rule;
  if (main.find(':') != std::string_view::npos || !isHostPattern(main)) return std::nullopt;
  rule.hostPattern = std::string(main);
  return rule;
}

bool TargetRule::matches(std::string_view host, const net::SocketAddress &address) const {
  if (port && *port != address.port()) return false;
  if (range) return range->contains(address);
  return hostMatches(hostPattern, host);
}

TargetPolicy::TargetPolicy(std::vector<TargetRule> allow, std::vector<TargetRule> deny,
                           std::vector<net::SocketAddress> ownAddresses)
    : allow_(std::move(allow)), deny_(std::move(deny)), own_(std::move(ownAddresses)) {}

std::optional<std::string> TargetPolicy::refuseName(std::string_view host,
                                                    std::uint16_t port) const {
  for (const auto &rule : deny_) {
    if (rule.range || !hostMatches(rule.hostPattern, host)) continue;
    if (rule.port && *rule.port != port) continue;
    return "refused by --deny-target " + rule.text;
  }
  return std::nullopt;
}

std::optional<std::string> TargetPolicy::refuseUnresolved(std::string_view host,
                                                          std::uint16_t port) const {
  if (auto refused = refuseName(host, port)) return refused;
  for (const auto &rule : allow_) {
    if (rule.range || !hostMatches(rule.hostPattern, host)) continue;
    if (!rule.port || *rule.port == port) return std::nullopt;
  }
  std::string name(host);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name == "localhost" || (name.size() > 10 && name.ends_with(".localhost"))) {
    return name + " is a loopback name (allow it with --allow-target)";
  }
  if (port < 1024 && port != 80 && port != 443) {
    return name + ": port " + std::to_string(port) +
           " is refused (below 1024 only 80 and 443 are open; allow others with --allow-target)";
  }
  return std::nullopt;
}

std::optional<std::string> TargetPolicy::refuseAddress(std::string_view host,
                                                       const net::SocketAddress &address) const {
  std::string where = address.toString();
  // A translator or tunnel address (NAT64, 6to4, ...) reaches the IPv4 address it embeds, so
  // that address is judged too: deny and own-address rules apply to either, an allow rule for
  // either opens it, and the IPv4's special range refuses it like the IPv4 itself.
  auto embedded = net::embeddedIpv4(address);
  std::string viaText;
  if (embedded) {
    viaText = " (" + std::string(embedded->via) + " of " + embedded->address.ipString() + ")";
  }
  std::vector<const net::SocketAddress *> judged{&address};
  if (embedded) judged.push_back(&embedded->address);
  for (const auto *candidate : judged) {
    for (const auto &rule : deny_) {
      if (rule.matches(host, *candidate)) {
        return where + viaText + " is refused by --deny-target " + rule.text;
      }
    }
  }
  for (const auto &own : own_) {
    if (own.port() != address.port()) continue;
    for (const auto *candidate : judged) {
      bool local = false;
      for (const auto &special : specialRanges()) {
        local = local || special.range.contains(*candidate);
      }
      if (sameAddress(own, *candidate) || (unspecified(own) && local)) {
        return where + viaText + " is the proxy's own listen address";
      }
    }
  }
  for (const auto *candidate : judged) {
    for (const auto &rule : allow_) {
      if (rule.matches(host, *candidate)) return std::nullopt;
    }
  }
  for (const auto &special : specialRanges()) {
    if (special.range.contains(address)) {
      return where + " is " + special.what + " (allow it with --allow-target)";
    }
    if (embedded && special.range.contains(embedded->address)) {
      return where + viaText + " is " + special.what + " (allow it with --allow-target)";
    }
  }
  std::uint16_t port = address.port();
  if (port < 1024 && port != 80 && port != 443) {
    return where + ": port " + std::to_string(port) +
           " is refused (below 1024 only 80 and 443 are open; allow others with --allow-target)";
  }
  return std::nullopt;
}

std::function<std::optional<std::string>(const net::SocketAddress &)>
admitter(std::shared_ptr<const TargetPolicy> policy, std::string host) {
  if (!policy) return {};
  return [policy = std::move(policy), host = std::move(host)](const net::SocketAddress &address) {
    return policy->refuseAddress(host, address);
  };
}

std::function<std::optional<std::string>(const std::string &, std::uint16_t)>
nameAdmitter(std::shared_ptr<const TargetPolicy> policy) {
  if (!policy) return {};
  return [policy = std::move(policy)](const std::string &host, std::uint16_t port) {
    return policy->refuseUnresolved(host, port);
  };
}

std::vector<TargetRule> parseTargetRules(const std::vector<std::string> &texts) {
  std::vector<TargetRule> rules;
  for (const auto &text : texts) {
    auto rule = TargetRule::parse(text);
    if (!rule) {
      throw std::invalid_argument("bad target rule '" + text +
                                  "' (expected CIDR, IP, HOST or *.DOMAIN, optionally :PORT)");
    }
    rules.push_back(std::move(*rule));
  }
  return rules;
}

} // namespace regcache::proxy
