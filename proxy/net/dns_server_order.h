#pragma once
// The order in which c-ares asks the --dns-server list. c-ares 1.18 starts every query at the
// first server, so a dead first server would cost each lookup a timeout. After a lookup that
// timed out somewhere, the first server moves to the end; after kRetryAfter the configured
// order comes back, so a server that recovered is used again (a still-dead one costs one more
// timeout). Shared by every worker's resolver, so it is thread-safe (one mutex); the caller
// applies the order to its c-ares channel and gives the time.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace regcache::proxy::net {

class DnsServerOrder {
public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kRetryAfter{60};

  explicit DnsServerOrder(std::vector<std::string> configured);
  DnsServerOrder(const DnsServerOrder &) = delete;
  DnsServerOrder &operator=(const DnsServerOrder &) = delete;

  struct Snapshot {
    unsigned generation;
    std::string servers; // comma-separated
    bool reordered;      // a server timed out and was moved behind the others
  };
  // The order now and its generation, taken together.
  Snapshot snapshot() const;

  // Changes with every reordering; a query remembers the one it started in.
  unsigned generation() const;
  // A query started in `startedIn` finished after `timeouts` timeouts. Returns the new order
  // (comma-separated, for ares_set_servers_ports_csv) when the servers should be reordered,
  // else nothing. Only a query of the current order reorders: the AAAA and A queries of one
  // lookup both time out on the same dead server, and must move it once, not twice.
  std::optional<std::string> onQueryDone(int timeouts, unsigned startedIn, Clock::time_point now);
  // Before a lookup: the configured order again once kRetryAfter passed since the last
  // reordering, else nothing.
  std::optional<std::string> beforeLookup(Clock::time_point now);
  // The order now, comma-separated.
  std::string current() const;

private:
  mutable std::mutex mutex_;
  std::vector<std::string> configured_;
  std::vector<std::string> order_;
  Clock::time_point reorderedAt_{};
  bool reordered_ = false;
  unsigned generation_ = 0;
};

} // namespace regcache::proxy::net
