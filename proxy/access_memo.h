#pragma once
// Which credentials upstream accepted for which repository, for a short while. Cached content
// that upstream served only to authenticated clients reaches another client only after upstream
// accepted that client's Authorization for the repository (an upstream HEAD, which Docker Hub
// does not count); the answer is remembered here so a pull of many layers asks once.
// Thread-safe: every worker shares one memo.
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "base/clock.h"

namespace regcache::proxy {

class AccessMemo {
public:
  // `ttl` must not outlive the tokens clients present (Docker Hub's last 300 s).
  AccessMemo(const Clock &clock, std::chrono::seconds ttl, std::size_t maxEntries = 10000);

  // What identifies a credential: a hash of the Authorization value, never the value itself.
  static std::string credentialKey(std::string_view authorization);

  bool accepted(const std::string &credential, const std::string &registry,
                const std::string &repository) const;
  void remember(const std::string &credential, const std::string &registry,
                const std::string &repository);

private:
  using Key = std::tuple<std::string, std::string, std::string>;
  const Clock &clock_;
  std::chrono::seconds ttl_;
  std::size_t maxEntries_;
  mutable std::mutex mutex_;
  std::map<Key, Clock::TimePoint> expiry_;
};

} // namespace regcache::proxy
