#include "proxy/cache_decision.h"

#include <algorithm>
#include <vector>

#include "base/log.h"
#include "cache/file_blob_store.h"
#include "cache/fill_registry.h"
#include "cache/registry_route.h"
#include "proxy/worker.h"

namespace regcache::proxy {

namespace {

// One cache entry per set of media types a client accepts: "a, b;q=0.5" and "b, a" match.
std::string acceptKey(const http::RequestHead &head) {
  std::vector<std::string> types;
  for (const auto &[name, value] : head.headers.entries()) {
    if (!http::equalsIgnoreCase(name, "Accept")) continue;
    std::string_view list = value;
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      item = item.substr(0, item.find(';'));
      while (!item.empty() && item.front() == ' ')
        item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ')
        item.remove_suffix(1);
      if (!item.empty()) types.emplace_back(item);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::string key;
  for (const auto &t : types)
    key += (key.empty() ? "" : ",") + t;
  return key;
}

// A manifest by tag: fresh within --tag-ttl is a hit; older, it is revalidated upstream with the
// cached copy kept as the fallback when upstream fails.
void decideTag(Worker &worker, const http::RequestHead &head, const cache::RegistryRoute &route,
               CacheDecision &decision, const std::string &logPrefix) {
  cache::Index *index = worker.index();
  std::string accept = acceptKey(head);
  auto tag = index->findTag(decision.registry, route.repository, route.reference, accept);
  if (!tag.ok()) {
    log::cache().warn("{} tag lookup failed, passing through: {}", logPrefix, tag.failure().detail);
    return;
  }
  if (tag.value()) {
    auto digest = cache::parseDigest(tag.value()->digest);
    auto blob = digest ? index->findBlob(digest->toString())
                       : Result<std::optional<cache::BlobRecord>>(std::nullopt);
    if (digest && blob.ok() && blob.value()) {
      auto fd = worker.shared().blobs->openForRead(*digest);
      if (fd.ok()) {
        cache::BlobRecord record = std::move(*blob.value());
        record.mediaType = tag.value()->mediaType;
        auto age = std::chrono::system_clock::now() - tag.value()->checkedAt;
        if (age < worker.options().tagTtl) {
          decision.hit = std::move(record);
          decision.file.reset(fd.value());
          return;
        }
        decision.stale =
            StaleFallback{std::move(record), std::make_shared<UniqueFd>(fd.value()), *tag.value()};
      }
    }
  }
  if (head.method == "GET") {
    decision.fill = CacheFill{
        cache::Digest{}, decision.registry, route.repository, true, nullptr, route.reference,
        accept};
  }
}

} // namespace

CacheDecision decideCache(Worker &worker, const http::RequestHead &head, const Route &route,
                          const std::string &logPrefix) {
  CacheDecision decision;
  cache::Index *index = worker.index();
  cache::FileBlobStore *store = worker.shared().blobs;
  if (index == nullptr || store == nullptr || route.kind != RouteKind::kForward) return decision;
  if (head.method != "GET" && head.method != "HEAD") return decision;
  if (head.headers.has("Authorization")) return decision;
  std::string path = route.originTarget.substr(0, route.originTarget.find('?'));
  auto registryRoute = cache::parseRegistryPath(path);
  if (!registryRoute) return decision;
  decision.registry = http::formatAuthority(route.upstream, route.tls ? 443 : 80);
  if (!registryRoute->byDigest()) {
    if (registryRoute->kind == cache::RegistryRoute::Kind::kManifest) {
      decideTag(worker, head, *registryRoute, decision, logPrefix);
    }
    return decision;
  }
  const cache::Digest &digest = *registryRoute->digest;
  auto found = index->findBlob(digest.toString());
  if (!found.ok()) {
    log::cache().warn("{} cache index lookup failed, passing through: {}", logPrefix,
                      found.failure().detail);
    return decision;
  }
  if (found.value()) {
    auto fd = store->openForRead(digest);
    if (fd.ok()) {
      decision.hit = std::move(*found.value());
      decision.file.reset(fd.value());
      return decision;
    }
    // The index outlived the file (deleted by hand): forget it and fetch again.
    log::cache().warn("{} {} is indexed but unreadable ({}); refetching", logPrefix,
                      digest.toString(), fd.failure().detail);
    if (auto removed = index->removeBlob(digest.toString()); !removed.ok()) {
      log::cache().warn("{} {}", logPrefix, removed.failure().detail);
    }
  }
  if (head.method == "GET") {
    std::shared_ptr<cache::FillProgress> progress;
    if (cache::FillRegistry *fills = worker.shared().fills) {
      auto [joined, leader] = fills->join(digest.toString());
      if (!leader) {
        // Someone is fetching this digest already, on this thread or another: follow it.
        decision.follow = std::move(joined);
        return decision;
      }
      progress = std::move(joined);
    }
    decision.fill = CacheFill{digest,
                              decision.registry,
                              registryRoute->repository,
                              registryRoute->kind == cache::RegistryRoute::Kind::kManifest,
                              std::move(progress),
                              std::nullopt,
                              {}};
  }
  return decision;
}

} // namespace regcache::proxy
