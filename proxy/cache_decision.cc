#include "proxy/cache_decision.h"

#include "base/log.h"
#include "cache/file_blob_store.h"
#include "cache/fill_registry.h"
#include "cache/registry_route.h"
#include "proxy/worker.h"

namespace regcache::proxy {

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
  if (!registryRoute || !registryRoute->byDigest()) return decision;

  decision.registry = http::formatAuthority(route.upstream, route.tls ? 443 : 80);
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
    decision.fill = CacheFill{digest, decision.registry, registryRoute->repository,
                              registryRoute->kind == cache::RegistryRoute::Kind::kManifest,
                              std::move(progress)};
  }
  return decision;
}

} // namespace regcache::proxy
