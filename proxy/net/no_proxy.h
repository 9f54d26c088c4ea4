#pragma once
// The hosts regcache connects to directly although a parent proxy is set (--upstream-no-proxy),
// in the NO_PROXY style that Go's net/http, Docker, containerd and skopeo read:
//   "*"                     every host (the parent is never used);
//   "example.com"           that name and every name under it;
//   ".example.com", "*.example.com"  names under example.com, not example.com itself;
//   "10.1.2.3", "fd00::1", "10.0.0.0/8", "fd00::/8"  IP literals the origin is named by;
//   any name or address with ":PORT" (IPv6 in brackets): only that port.
// Matching is on the origin as the client named it, before any resolution (a name is never
// resolved to find out whether an address rule covers it), case-insensitive, trailing dot
// ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proxy/net/cidr.h"

namespace regcache::proxy::net {

class NoProxyList {
public:
  // Each text is one entry or several separated by commas; blanks around entries and empty
  // entries are ignored. Fails naming the first entry that is none of the forms above.
  static Result<NoProxyList> parse(const std::vector<std::string> &texts);

  // True if a connection to host:port goes direct. `host` is a name or an IP literal without
  // brackets.
  bool covers(std::string_view host, std::uint16_t port) const;
  bool empty() const { return !everything_ && entries_.empty(); }

private:
  struct Entry {
    std::optional<Cidr> range; // set for IP and CIDR entries
    std::string domain;        // lowercased, no leading "." or "*.", no trailing dot
    bool subdomainsOnly = false;
    std::optional<std::uint16_t> port;
  };
  static std::optional<Entry> parseEntry(std::string_view text);

  bool everything_ = false;
  std::vector<Entry> entries_;
};

} // namespace regcache::proxy::net
