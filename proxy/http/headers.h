#pragma once
// An ordered list of header fields. Names keep their case as sent; lookups ignore case.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regcache::proxy::http {

bool equalsIgnoreCase(std::string_view a, std::string_view b);

class Headers {
public:
  using Entry = std::pair<std::string, std::string>;

  void add(std::string name, std::string value);
  // Replaces every field called `name` with one.
  void set(std::string_view name, std::string value);
  // The first field called `name`, if any. The view lives as long as the entry.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Removes every field called `name`; returns how many.
  std::size_t remove(std::string_view name);
  // True if any field called `name` holds `token` in its comma-separated list (case-insensitive),
  // e.g. hasToken("Connection", "close").
  bool hasToken(std::string_view name, std::string_view token) const;

  const std::vector<Entry> &entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }

private:
  std::vector<Entry> entries_;
};

// True for the fields no Connection header may declare hop-by-hop (Host, Content-Length,
// Transfer-Encoding, Authorization, Content-Type, Docker-Content-Digest and the other fields
// with an end-to-end meaning); case-insensitive.
bool isEndToEndField(std::string_view name);

// Removes hop-by-hop fields (RFC 9110 7.6.1): Connection, Proxy-Connection, Keep-Alive, TE,
// Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization and Proxy-Authenticate, and every
// field named in Connection unless isEndToEndField() says it is not the peer's to remove.
// Framing (Content-Length, Transfer-Encoding) is then set by whoever sends the message, from
// what its parser framed (see forwarding.h).
void stripHopByHop(Headers &headers);

} // namespace regcache::proxy::http
