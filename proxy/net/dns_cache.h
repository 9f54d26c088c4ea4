#pragma once
// One worker's memory of upstream DNS answers: addresses for as long as their TTL says (capped),
// and names that do not exist for a fixed negative TTL. A failure that is no answer (a timeout,
// a refused query) is never remembered: the next lookup asks again. Pure: the caller gives the
// time, so tests need no clock.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/net/socket_address.h"

namespace regcache::proxy::net {

class DnsCache {
public:
  using Clock = std::chrono::steady_clock;

  struct Answer {
    std::vector<SocketAddress> addresses; // IPv6 first, then IPv4; port 0
    std::string failure;                  // set (and addresses empty) for a negative answer
  };

  // maxTtl caps a positive answer's TTL (0: positive answers are not kept); negativeTtl is how
  // long a name that does not exist is remembered (0: not at all). At most `capacity` names.
  DnsCache(std::chrono::milliseconds maxTtl, std::chrono::milliseconds negativeTtl,
           std::size_t capacity = 4096);

  // The answer for `host` (case-insensitive, trailing dot ignored) still valid at `now`, or
  // nothing.
  std::optional<Answer> find(std::string_view host, Clock::time_point now) const;
  // Remembers addresses for min(ttl, maxTtl) from `now`. An empty list or a zero TTL is ignored.
  void storeAddresses(std::string_view host, std::vector<SocketAddress> addresses,
                      std::chrono::seconds ttl, Clock::time_point now);
  // Remembers that `host` does not exist (NXDOMAIN, or no address of either family).
  void storeMissing(std::string_view host, std::string failure, Clock::time_point now);
  std::size_t size() const { return entries_.size(); }

private:
  struct Entry {
    Answer answer;
    Clock::time_point expires;
  };
  static std::string key(std::string_view host);
  void insert(std::string name, Entry entry, Clock::time_point now);

  std::chrono::milliseconds maxTtl_;
  std::chrono::milliseconds negativeTtl_;
  std::size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;
};

} // namespace regcache::proxy::net
