#include "proxy/cache/public_repositories.h"

namespace regcache::proxy {

namespace {
// A probe that never reported (its worker stopped) no longer blocks the next one after this.
constexpr std::chrono::minutes kProbeDeadline{1};
} // namespace

PublicRepositories::PublicRepositories(const Clock &clock, std::chrono::seconds ttl,
                                       std::size_t maxEntries)
    : clock_(clock), ttl_(ttl), maxEntries_(maxEntries) {}

std::optional<bool> PublicRepositories::known(const std::string &registry,
                                              const std::string &repository) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(Key{registry, repository});
  if (it == entries_.end() || !it->second.isPublic || clock_.now() >= it->second.until) {
    return std::nullopt;
  }
  return it->second.isPublic;
}

bool PublicRepositories::beginProbe(const std::string &registry, const std::string &repository) {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  auto it = entries_.find(Key{registry, repository});
  if (it != entries_.end() && now < it->second.until) return false; // fresh, or being probed
  if (entries_.size() >= maxEntries_) {
    std::erase_if(entries_, [&](const auto &entry) { return entry.second.until <= now; });
    if (entries_.size() >= maxEntries_) return false; // bounded: skip rather than forget probes
  }
  entries_[Key{registry, repository}] = Entry{std::nullopt, now + kProbeDeadline};
  return true;
}

void PublicRepositories::endProbe(const std::string &registry, const std::string &repository,
                                  std::optional<bool> isPublic) {
  std::lock_guard lock(mutex_);
  auto key = Key{registry, repository};
  // Could not tell (upstream unreachable): ask again on a fetch after the deadline, not at once.
  std::chrono::seconds freshFor = isPublic ? ttl_ : kProbeDeadline;
  entries_[key] = Entry{isPublic, clock_.now() + freshFor};
}

} // namespace regcache::proxy
