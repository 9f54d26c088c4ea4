#pragma once
// Pulls by registry and repository, for the status page: which repositories are pulled most and
// move the most bytes, how many pulls the cache saved against each registry's rate limit, and
// the last RateLimit-Remaining each registry sent. Touched once per registry request, behind a
// mutex; the maps are bounded, so made-up names cannot grow them without end.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regcache::proxy {

struct RepositoryPulls {
  std::string name;        // "registry/repository", or "other" past the bound
  std::uint64_t pulls = 0; // manifest GETs
  std::uint64_t bytes = 0; // body bytes sent for it (manifests and blobs)
};

struct RegistryPulls {
  std::string registry;
  std::uint64_t pulls = 0;      // manifest GETs
  std::uint64_t pullsSaved = 0; // of them, answered without a manifest GET upstream
  std::optional<long> rateLimitRemaining;
  std::chrono::system_clock::time_point rateLimitSeenAt{};
};

class PullStats {
public:
  // `most`: the entries kept per map before new names count as "other".
  explicit PullStats(std::size_t most = 1000) : most_(most) {}

  // A request on a registry route of `repository` at `registry`: a pull when it is a manifest
  // GET (`manifestGet`), saved when the cache answered it without upstream's body.
  void countRequest(const std::string &registry, const std::string &repository, bool manifestGet,
                    bool saved, std::uint64_t bytes);
  void noteRateLimit(const std::string &registry, long remaining,
                     std::chrono::system_clock::time_point seenAt);

  // The `count` repositories with the most pulls (then bytes), and with the most bytes.
  std::vector<RepositoryPulls> topByPulls(std::size_t count) const;
  std::vector<RepositoryPulls> topByBytes(std::size_t count) const;
  std::vector<RegistryPulls> registries() const;

private:
  std::size_t most_;
  mutable std::mutex mutex_;
  std::map<std::string, RepositoryPulls> repositories_;
  std::map<std::string, RegistryPulls> registries_;
};

} // namespace regcache::proxy
