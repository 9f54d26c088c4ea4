#include "proxy/forward/upstream_auth/token_cache.h"

#include "base/oci/registry_route.h"

namespace regcache::proxy::upstream_auth {

namespace {
// A token is not used in its last seconds: a request sent then could arrive after it expired.
constexpr std::chrono::seconds kMargin{10};
constexpr std::size_t kMaxEntries = 10000;
} // namespace

std::optional<std::string> TokenCache::find(const std::string &host,
                                            const std::string &scope) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find({host, scope});
  if (it == entries_.end() || clock_.now() >= it->second.second) return std::nullopt;
  return it->second.first;
}

void TokenCache::put(const std::string &host, const std::string &scope, std::string authorization,
                     std::chrono::seconds lifetime) {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  if (entries_.size() >= kMaxEntries) {
    std::erase_if(entries_, [&](const auto &entry) { return entry.second.second <= now; });
    if (entries_.size() >= kMaxEntries) entries_.clear();
  }
  auto usable = lifetime > 2 * kMargin ? lifetime - kMargin : lifetime / 2;
  entries_[{host, scope}] = {std::move(authorization), now + usable};
}

void TokenCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

std::string scopeForPath(std::string_view path) {
  path = path.substr(0, path.find('?'));
  auto route = oci::parseRegistryPath(path);
  if (route) return "repository:" + route->repository + ":pull";
  // Other repository endpoints (tags/list, referrers): /v2/<name>/<something>.
  if (path.rfind("/v2/", 0) != 0 || path.size() <= 4) return {};
  std::string_view rest = path.substr(4);
  for (std::string_view marker : {"/tags/list", "/referrers/"}) {
    auto at = rest.find(marker);
    if (at != std::string_view::npos && at != 0) {
      return "repository:" + std::string(rest.substr(0, at)) + ":pull";
    }
  }
  return {};
}

} // namespace regcache::proxy::upstream_auth
