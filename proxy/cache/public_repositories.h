#pragma once
// Which repositories upstream lets anyone read, as the proxy last found out (PublicProbe). Token
// registries (Docker Hub, ghcr.io, quay.io) hand every client a bearer token, anonymous ones
// included, so content fetched "with credentials" is often public; knowing it lets the cache
// serve that content to anyone, also while upstream is down. Verdicts are kept for a while, then
// asked again: a repository can turn private. Thread-safe: every worker shares one.
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/clock.h"

namespace regcache::proxy {

class PublicRepositories {
public:
  PublicRepositories(const Clock &clock, std::chrono::seconds ttl, std::size_t maxEntries = 10000);

  // The fresh verdict, if any: true for public.
  std::optional<bool> known(const std::string &registry, const std::string &repository) const;
  // True if the caller should probe now: no fresh verdict and no probe in flight.
  bool beginProbe(const std::string &registry, const std::string &repository);
  void endProbe(const std::string &registry, const std::string &repository,
                std::optional<bool> isPublic); // nothing: the probe could not tell

private:
  struct Entry {
    std::optional<bool> isPublic; // empty while probing
    Clock::TimePoint until;       // a verdict's freshness, or a probe's deadline
  };
  using Key = std::pair<std::string, std::string>;
  const Clock &clock_;
  std::chrono::seconds ttl_;
  std::size_t maxEntries_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
};

} // namespace regcache::proxy
