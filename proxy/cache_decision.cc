#include "proxy/cache_decision.h"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/log.h"
#include "cache/file_blob_store.h"
#include "cache/fill_registry.h"
#include "cache/index_writer.h"
#include "cache/manifest_media_type.h"
#include "cache/registry_route.h"
#include "proxy/cache_lookup.h"
#include "proxy/worker.h"

namespace regcache::proxy {

namespace {

// A manifest asked for by digest goes out with a manifest media type, whatever its bytes were
// first cached as (a blob is application/octet-stream): the type its own JSON names, else the one
// upstream sent when it was fetched under /manifests/. False if neither is known.
bool typeAsManifest(cache::BlobRecord &blob, int fd) {
  std::optional<std::string> type;
  if (blob.size <= cache::kMaxManifestBytes) {
    std::string json(static_cast<std::size_t>(blob.size), '\0');
    std::size_t got = 0;
    while (got < json.size()) {
      ssize_t n = ::pread(fd, json.data() + got, json.size() - got, static_cast<off_t>(got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got == json.size()) type = cache::manifestMediaType(json);
  }
  if (!type && blob.manifest && !blob.mediaType.empty()) type = blob.mediaType;
  if (!type) return false;
  blob.mediaType = std::move(*type);
  return true;
}

// Opens what the lookup found and turns it into the decision's hit or candidate. False when the
// file cannot be read (or, by digest as a manifest, typed): then it is a miss.
bool takeLookup(Worker &worker, const cache::RegistryRoute &route, const Credential &credential,
                CacheLookup lookup, CacheDecision &decision, const std::string &logPrefix) {
  auto digest = cache::parseDigest(lookup.blob.digest);
  if (!digest) return false;
  auto fd = worker.shared().blobs->openForRead(*digest);
  if (!fd.ok()) {
    // The index outlived the file (deleted by hand): forget it and fetch again.
    log::cache().warn("{} {} is indexed but unreadable ({}); refetching", logPrefix,
                      lookup.blob.digest, fd.failure().detail);
    worker.shared().indexWriter->removeBlob(lookup.blob.digest);
    return false;
  }
  UniqueFd file(fd.value());
  if (route.byDigest() && lookup.blob.manifest && !typeAsManifest(lookup.blob, file.get())) {
    return false;
  }
  if (lookup.outcome == CacheLookup::Outcome::kHit) {
    decision.hit = std::move(lookup.blob);
    decision.file = std::move(file);
    return true;
  }
  decision.candidate = CacheCandidate{std::move(lookup.blob),
                                      std::make_shared<UniqueFd>(std::move(file)),
                                      std::move(lookup.tag),
                                      lookup.servableOffline,
                                      credential,
                                      route.repository};
  return true;
}

} // namespace

CacheDecision decideCache(Worker &worker, const http::RequestHead &head, const Route &route,
                          const std::string &logPrefix) {
  CacheDecision decision;
  const cache::IndexView *view = worker.shared().indexView;
  if (view == nullptr || worker.shared().blobs == nullptr || route.kind != RouteKind::kForward) {
    return decision;
  }
  if (head.method != "GET" && head.method != "HEAD") return decision;
  std::string path = route.originTarget.substr(0, route.originTarget.find('?'));
  auto registryRoute = cache::parseRegistryPath(path);
  if (!registryRoute) return decision;
  decision.registry = http::registryKey(route.upstream, route.tls);
  LookupRequest request{*registryRoute, decision.registry, {}, {}};
  if (auto authorization = head.headers.get("Authorization")) {
    request.credential = Credential::of(*authorization);
  }
  bool byTag = !registryRoute->byDigest();
  if (byTag && registryRoute->kind != cache::RegistryRoute::Kind::kManifest) return decision;
  if (byTag) request.acceptKey = acceptKey(head);
  const ServerOptions &options = worker.options();
  CacheLookup lookup =
      lookupCache(request, *view, worker.shared().accessMemo,
                  {options.tagTtl, options.offlineAuth, std::chrono::system_clock::now()});
  if (lookup.outcome != CacheLookup::Outcome::kMiss) {
    bool taken = takeLookup(worker, *registryRoute, request.credential, std::move(lookup), decision,
                            logPrefix);
    // By digest, cached content needs no fill; by tag, only a hit does (a candidate's GET
    // fetches, and stores, upstream's answer).
    if (taken && (!byTag || decision.hit)) return decision;
  }
  const Credential &credential = request.credential;
  if (byTag) {
    if (head.method == "GET") {
      decision.fill = CacheFill{cache::Digest{},
                                {},
                                decision.registry,
                                registryRoute->repository,
                                true,
                                nullptr,
                                registryRoute->reference,
                                request.acceptKey,
                                credential};
    } else {
      decision.tagToLearn = cache::TagRecord{decision.registry,
                                             registryRoute->repository,
                                             registryRoute->reference,
                                             request.acceptKey,
                                             {},
                                             {},
                                             {}};
    }
    return decision;
  }
  const cache::Digest &digest = *registryRoute->digest;
  bool manifest = registryRoute->kind == cache::RegistryRoute::Kind::kManifest;
  if (head.method == "GET") {
    // A repository upstream lets anyone read needs no credential to follow its fills: on Docker
    // Hub, where every client has a token of its own, concurrent pulls then share one fetch.
    bool openToAll = credential.empty() ||
                     worker.shared().publicRepositories.known(decision.registry,
                                                              registryRoute->repository) == true;
    // A fill is followed only by clients of its own registry (another registry's upstream, maybe
    // a client's own slow or lying server, must not hold them up), asking the same way (a
    // manifest's follower needs upstream's manifest type, not a blob's), with the same credential
    // unless the repository is open to all.
    std::string fillKey = decision.registry + (manifest ? " manifest " : " blob ") +
                          digest.toString() + (openToAll ? "" : " " + credential.key);
    std::shared_ptr<cache::FillProgress> progress;
    if (cache::FillRegistry *fills = worker.shared().fills) {
      auto [joined, leader] = fills->join(fillKey);
      if (!leader) {
        // Someone is fetching this digest already, on this thread or another: follow it.
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
                              credential};
  }
  return decision;
}

} // namespace regcache::proxy
