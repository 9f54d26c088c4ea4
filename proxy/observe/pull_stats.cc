#include "proxy/observe/pull_stats.h"

#include <algorithm>

namespace regcache::proxy {

namespace {

// The entry of `key` while the map has room, else the shared "other" one; `name` is the key used.
template <class Map>
auto &entryFor(Map &map, const std::string &key, std::size_t most, std::string &name) {
  name = map.count(key) != 0 || map.size() < most ? key : std::string("other");
  return map[name];
}

} // namespace

void PullStats::countRequest(const std::string &registry, const std::string &repository,
                             bool manifestGet, bool saved, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  std::string name;
  auto &repo = entryFor(repositories_, registry + "/" + repository, most_, name);
  repo.name = name;
  repo.bytes += bytes;
  if (!manifestGet) return;
  ++repo.pulls;
  auto &reg = entryFor(registries_, registry, most_, name);
  reg.registry = name;
  ++reg.pulls;
  if (saved) ++reg.pullsSaved;
}

void PullStats::noteRateLimit(const std::string &registry, long remaining,
                              std::chrono::system_clock::time_point seenAt) {
  std::lock_guard lock(mutex_);
  std::string name;
  auto &reg = entryFor(registries_, registry, most_, name);
  reg.registry = name;
  reg.rateLimitRemaining = remaining;
  reg.rateLimitSeenAt = seenAt;
}

std::vector<RepositoryPulls> PullStats::topByPulls(std::size_t count) const {
  std::vector<RepositoryPulls> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto &[name, repo] : repositories_)
      all.push_back(repo);
  }
  std::sort(all.begin(), all.end(), [](const auto &a, const auto &b) {
    return a.pulls != b.pulls   ? a.pulls > b.pulls
           : a.bytes != b.bytes ? a.bytes > b.bytes
                                : a.name < b.name;
  });
  if (all.size() > count) all.resize(count);
  return all;
}

std::vector<RepositoryPulls> PullStats::topByBytes(std::size_t count) const {
  std::vector<RepositoryPulls> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto &[name, repo] : repositories_)
      all.push_back(repo);
  }
  std::sort(all.begin(), all.end(), [](const auto &a, const auto &b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name;
  });
  if (all.size() > count) all.resize(count);
  return all;
}

std::vector<RegistryPulls> PullStats::registries() const {
  std::lock_guard lock(mutex_);
  std::vector<RegistryPulls> out;
  for (const auto &[name, reg] : registries_)
    out.push_back(reg);
  return out;
}

} // namespace regcache::proxy
