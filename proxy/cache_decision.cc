#include "proxy/cache_decision.h"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/log.h"
#include "cache/blob_store_sync.h"
#include "cache/fill_registry.h"
#include "cache/manifest_media_type.h"
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

struct Asker {
  Credential credential; // empty without Authorization
  bool anonymous() const { return credential.empty(); }
};

// Cached content found for the request, and whether it may go out without asking upstream.
struct Found {
  cache::BlobRecord blob;
  std::unique_ptr<cache::BlobReader> reader; // on the worker's loop
  std::optional<cache::TagRecord> tag;
};

// Decides between a hit and a check with upstream for content that is on disk; false when it is
// a miss at this registry, to be fetched and verified like any other.
bool serveOrConfirm(Worker &worker, const cache::RegistryRoute &route, const Asker &asker,
                    Found found, bool fresh, CacheDecision &decision) {
  cache::Index *index = worker.index();
  const std::string &digest = found.blob.digest;
  // A HEAD proves nothing about bytes: only a registry that served this digest before may
  // confirm a client's access to it. Any other (a client may name its own server) must send the
  // bytes, which are verified like any fill.
  auto atRegistry = index->servedAtRegistry(digest, decision.registry);
  if (!atRegistry.ok() || !atRegistry.value()) return false;
  // Upstream's yes for a repository covers only what it served under that repository: a digest
  // stored from another one may not be in this one at all.
  auto served = index->servedUnder(digest, decision.registry, route.repository, false);
  bool servedHere = served.ok() && served.value();
  auto servedAnonymously = index->servedUnder(digest, decision.registry, route.repository, true);
  bool publicHere = servedHere && servedAnonymously.ok() && servedAnonymously.value();
  bool accepted = publicHere || (servedHere && !asker.anonymous() &&
                                 worker.shared().accessMemo.accepted(
                                     asker.credential.key, decision.registry, route.repository));
  if (fresh && accepted) {
    decision.hit = std::move(found.blob);
    decision.reader = std::move(found.reader);
    return true;
  }
  // Public content may be served while upstream is unreachable. Content only ever fetched with
  // credentials only when the operator said so, to clients that send credentials, and only where
  // upstream served it.
  bool trustCached =
      worker.options().offlineAuth == OfflineAuth::kTrustCached && !asker.anonymous() && servedHere;
  bool offline = publicHere || trustCached;
  decision.candidate =
      CacheCandidate{std::move(found.blob),
                     std::make_shared<std::unique_ptr<cache::BlobReader>>(std::move(found.reader)),
                     std::move(found.tag),
                     offline,
                     asker.credential,
                     route.repository};
  return true;
}

// A manifest asked for by digest goes out with a manifest media type, whatever its bytes were
// first cached as (a blob is application/octet-stream): the type its own JSON names, else the one
// upstream sent when it was fetched under /manifests/. False if neither is known.
bool typeAsManifest(Worker &worker, const cache::Digest &digest, Found &found) {
  cache::BlobRecord &blob = found.blob;
  std::optional<std::string> type;
  if (blob.size <= cache::kMaxManifestBytes) {
    // From the page cache when it is there (it nearly always is for a manifest); else a wait on
    // the store's pool, as the pread on the loop did before. The lookup is synchronous today.
    auto json = cache::readAllNow(*worker.shared().blobs, digest, blob.size);
    if (json.ok() && json->size() == blob.size) type = cache::manifestMediaType(json.value());
  }
  if (!type && blob.manifest && !blob.mediaType.empty()) type = blob.mediaType;
  if (!type) return false;
  blob.mediaType = std::move(*type);
  return true;
}

// A manifest by tag: fresh within --tag-ttl is a hit; older, it is revalidated upstream with the
// cached copy kept as the fallback when upstream fails.
void decideTag(Worker &worker, const http::RequestHead &head, const cache::RegistryRoute &route,
               const Asker &asker, CacheDecision &decision, const std::string &logPrefix) {
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
      auto reader = worker.shared().blobs->openReader(*digest, worker.completions());
      if (reader.ok()) {
        cache::BlobRecord record = std::move(*blob.value());
        record.mediaType = tag.value()->mediaType;
        record.manifest = true;
        auto age = std::chrono::system_clock::now() - tag.value()->checkedAt;
        bool cached = serveOrConfirm(
            worker, route, asker,
            Found{std::move(record), std::move(reader.value()), std::move(*tag.value())},
            age < worker.shared().tagTtl.load(), decision);
        if (cached && decision.hit) return;
      }
    }
  }
  if (head.method == "GET") {
    decision.fill =
        CacheFill{cache::Digest{}, {},     decision.registry, route.repository, true, nullptr,
                  route.reference, accept, asker.credential};
  } else {
    decision.tagToLearn =
        cache::TagRecord{decision.registry, route.repository, route.reference, accept, {}, {}, {}};
  }
}

} // namespace

CacheDecision decideCache(Worker &worker, const http::RequestHead &head, const Route &route,
                          const std::string &logPrefix) {
  CacheDecision decision;
  cache::Index *index = worker.index();
  cache::BlobStore *store = worker.shared().blobs;
  if (index == nullptr || store == nullptr || route.kind != RouteKind::kForward) return decision;
  if (head.method != "GET" && head.method != "HEAD") return decision;
  std::string path = route.originTarget.substr(0, route.originTarget.find('?'));
  auto registryRoute = cache::parseRegistryPath(path);
  if (!registryRoute) return decision;
  decision.registry = http::registryKey(route.upstream, route.tls);
  Asker asker;
  if (auto authorization = head.headers.get("Authorization")) {
    asker.credential = Credential::of(*authorization);
  }
  if (!registryRoute->byDigest()) {
    if (registryRoute->kind == cache::RegistryRoute::Kind::kManifest) {
      decideTag(worker, head, *registryRoute, asker, decision, logPrefix);
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
  bool manifest = registryRoute->kind == cache::RegistryRoute::Kind::kManifest;
  if (found.value()) {
    auto reader = store->openReader(digest, worker.completions());
    if (reader.ok()) {
      Found cached{std::move(*found.value()), std::move(reader.value()), std::nullopt};
      cached.blob.manifest = manifest; // asked for as: the public probe asks the same way
      if ((!manifest || typeAsManifest(worker, digest, cached)) &&
          serveOrConfirm(worker, *registryRoute, asker, std::move(cached), true, decision)) {
        return decision;
      }
      // Not to be served from here without upstream's bytes: a miss.
    } else {
      // The index outlived the file (deleted by hand): forget it and fetch again.
      log::cache().warn("{} {} is indexed but unreadable ({}); refetching", logPrefix,
                        digest.toString(), reader.failure().detail);
      if (auto removed = index->removeBlob(digest.toString()); !removed.ok()) {
        log::cache().warn("{} {}", logPrefix, removed.failure().detail);
      }
    }
  }
  if (head.method == "GET") {
    // A repository upstream lets anyone read needs no credential to read its fills.
    bool openToAll = asker.anonymous() || worker.shared().publicRepositories.known(
                                              decision.registry, registryRoute->repository) == true;
    // One fill per registry, kind and digest, whoever asks: another registry's upstream (maybe a
    // client's own slow or lying server) must not hold up clients of this one, and a manifest's
    // reader needs upstream's manifest type, not a blob's. Whether a reader may see it is decided
    // below, per reader.
    std::string fillKey =
        decision.registry + (manifest ? " manifest " : " blob ") + digest.toString();
    std::shared_ptr<cache::FillProgress> progress;
    if (cache::FillRegistry *fills = worker.shared().fills) {
      auto [joined, leader] = fills->join(
          fillKey, cache::FillLeader{asker.credential.key, registryRoute->repository, openToAll});
      if (!leader) {
        // Someone is fetching this digest already, on this thread or another: read its fill.
        const cache::FillLeader &startedBy = joined->leader;
        // The leader's own credential, or content anyone may read, needs no question. Nor does a
        // credential upstream accepted a moment ago for the repository the leader fetched this
        // digest under. Anyone else waits for upstream's yes to a HEAD of its own.
        bool mayRead = asker.credential.key == startedBy.credentialKey ||
                       (openToAll && startedBy.openToAll) ||
                       (!asker.anonymous() && registryRoute->repository == startedBy.repository &&
                        worker.shared().accessMemo.accepted(asker.credential.key, decision.registry,
                                                            registryRoute->repository));
        if (!mayRead)
          decision.confirmJoin = JoinToConfirm{asker.credential, registryRoute->repository};
        decision.follow = std::move(joined);
        return decision;
      }
      progress = std::move(joined);
    }
    decision.fill = CacheFill{digest,
                              fillKey,
                              decision.registry,
                              registryRoute->repository,
                              manifest,
                              std::move(progress),
                              std::nullopt,
                              {},
                              asker.credential};
  }
  return decision;
}

} // namespace regcache::proxy
