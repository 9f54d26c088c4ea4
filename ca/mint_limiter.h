#pragma once
// How many new leaves each client may have minted: a token bucket per client address, `perMinute`
// tokens refilled per minute with a burst of `perMinute`. Minting costs a key and a signature, and
// every new leaf pushes an older one out of the bounded leaf cache, so without a bound one client
// naming endless made-up SNI names would evict every legitimate leaf and keep the CPU busy.
// Thread-safe.
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/clock.h"

namespace regcache::ca {

class MintLimiter {
public:
  // `perMinute` 0: unlimited. `clock` must outlive the limiter.
  MintLimiter(const Clock &clock, std::size_t perMinute);
  MintLimiter(const MintLimiter &) = delete;
  MintLimiter &operator=(const MintLimiter &) = delete;

  // Takes one mint from `client`'s bucket: true if it had one left.
  bool tryTake(const std::string &client);
  std::size_t perMinute() const { return perMinute_; }

private:
  struct Bucket {
    double tokens = 0;
    Clock::TimePoint updated{};
  };
  void refill(Bucket &bucket, Clock::TimePoint now) const;
  // Forgets buckets that are full again (they hold nothing a fresh one would not).
  void prune(Clock::TimePoint now);

  const Clock &clock_;
  const std::size_t perMinute_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

} // namespace regcache::ca
