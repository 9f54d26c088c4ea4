#pragma once
// Authorization values the proxy obtained with the operator's accounts, per (registry host,
// scope), kept until shortly before they expire. Shared by every worker; thread-safe.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/clock.h"

namespace regcache::proxy::upstream_auth {

class TokenCache {
public:
  explicit TokenCache(const Clock &clock) : clock_(clock) {}

  // "Bearer ..." or "Basic ..." for the host and scope, if one is still valid.
  std::optional<std::string> find(const std::string &host, const std::string &scope) const;
  void put(const std::string &host, const std::string &scope, std::string authorization,
           std::chrono::seconds lifetime);
  // Forgets every token (the accounts changed on reload). Thread-safe.
  void clear();

private:
  const Clock &clock_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::pair<std::string, Clock::TimePoint>> entries_;
};

// The scope a request needs, from its path: "repository:<name>:pull" under /v2/<name>/...,
// empty for the /v2/ ping and anything else.
std::string scopeForPath(std::string_view path);

} // namespace regcache::proxy::upstream_auth
