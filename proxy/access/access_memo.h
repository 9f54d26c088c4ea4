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
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "base/clock.h"

namespace regcache::proxy {

// A client's Authorization as the memo knows it: a hash, never the value itself, and when the
// credential stops being valid if it says so (a JWT bearer token's "exp").
struct Credential {
  std::string key; // empty: the client sent no Authorization
  std::optional<Clock::TimePoint> expires;

  static Credential of(std::string_view authorization);
  bool empty() const { return key.empty(); }
};

class AccessMemo {
public:
  // An answer is kept for `ttl`, and never past the credential's own expiry.
  AccessMemo(const Clock &clock, std::chrono::seconds ttl, std::size_t maxEntries = 10000);

  bool accepted(const std::string &credentialKey, const std::string &registry,
                const std::string &repository) const;
  void remember(const Credential &credential, const std::string &registry,
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
