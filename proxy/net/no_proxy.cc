#include "proxy/net/no_proxy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "proxy/net/socket_address.h"

namespace regcache::proxy::net {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0)
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0)
    text.remove_suffix(1);
  return text;
}

std::string normalizedHost(std::string_view host) {
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool isDomainName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

std::optional<std::uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

} // namespace

std::optional<NoProxyList::Entry> NoProxyList::parseEntry(std::string_view text) {
  Entry entry;
  std::string_view main = text;
  if (text.front() == '[') { // [v6] or [v6]:port
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    main = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !(entry.port = parsePort(rest.substr(1)))) return std::nullopt;
    }
    if (!(entry.range = Cidr::parse(main))) return std::nullopt;
    return entry;
  }
  // One colon: name:port or v4:port. More: a bare IPv6 address or range, which has no port.
  if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    main = text.substr(0, colon);
    if (!(entry.port = parsePort(text.substr(colon + 1)))) return std::nullopt;
  }
  if ((entry.range = Cidr::parse(main))) return entry;
  if (main.find(':') != std::string_view::npos || main.find('/') != std::string_view::npos)
    return std::nullopt;
  if (main.substr(0, 2) == "*.") {
    main.remove_prefix(2);
    entry.subdomainsOnly = true;
  } else if (main.front() == '.') {
    main.remove_prefix(1);
    entry.subdomainsOnly = true;
  }
  entry.domain = normalizedHost(main);
  if (!isDomainName(entry.domain) || entry.domain.front() == '.') return std::nullopt;
  return entry;
}

Result<NoProxyList> NoProxyList::parse(const std::vector<std::string> &texts) {
  NoProxyList list;
  for (const auto &text : texts) {
    std::string_view rest = text;
    while (true) {
      auto comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (item == "*") {
        list.everything_ = true;
      } else if (!item.empty()) {
        auto entry = parseEntry(item);
        if (!entry) {
          return fail(Error::kInvalidInput,
                      "bad --upstream-no-proxy entry '" + std::string(item) +
                          "' (expected *, NAME, .DOMAIN, *.DOMAIN, IP or CIDR, optionally :PORT)");
        }
        list.entries_.push_back(std::move(*entry));
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return list;
}

bool NoProxyList::covers(std::string_view host, std::uint16_t port) const {
  if (everything_) return true;
  std::string name = normalizedHost(host);
  // Only a literal is matched against address rules: names are not resolved for this.
  std::optional<SocketAddress> literal = SocketAddress::fromIp(name, port);
  for (const auto &entry : entries_) {
    if (entry.port && *entry.port != port) continue;
    if (entry.range) {
      if (literal && entry.range->contains(*literal)) return true;
      continue;
    }
    if (literal) continue;
    if (name.size() > entry.domain.size() &&
        name.compare(name.size() - entry.domain.size(), entry.domain.size(), entry.domain) == 0 &&
        name[name.size() - entry.domain.size() - 1] == '.') {
      return true; // a name under the domain
    }
    if (!entry.subdomainsOnly && name == entry.domain) return true;
  }
  return false;
}

} // namespace regcache::proxy::net
