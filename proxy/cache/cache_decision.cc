#include "proxy/cache/cache_decision.h"

#include <algorithm>
#include <vector>

#include "base/log.h"
#include "base/oci/manifest_media_type.h"
#include "base/oci/registry_route.h"
#include "cache/blob_store_sync.h"
#include "cache/fill_registry.h"
#include "cache/index_writer.h"
#include "cache/tiered_blob_store.h"
#include "proxy/cache/cache_lookup.h"
#include "proxy/cache/manifest_types.h"
#include "proxy/cache/public_repositories.h"
#include "proxy/handler_services.h"

namespace regcache::proxy {

namespace {

// Manifests whose media type each worker remembers (a digest and a short type each).
constexpr std::size_t kManifestTypesPerWorker = 4096;

// A manifest asked for by digest goes out with a manifest media type, whatever its bytes were
// first cached as (a blob is application/octet-stream): the type its own JSON names, else the one
// upstream sent when it was fetched under /manifests/. False if neither is known.
bool typeAsManifest(HandlerServices &services, const oci::Digest &digest, cache::BlobRecord &blob) {
  std::optional<std::string> type;
  if (blob.size <= oci::kMaxManifestBytes) {
    // Each worker remembers the types of the manifests it served: the JSON is read once.
    thread_local ManifestTypes known(kManifestTypesPerWorker);
    type = known.typeOf(
        blob.digest, blob.size,
        [&] {
          // From the page cache when it is there (it nearly always is for a manifest); else a
          // wait on the store's pool, as the pread on the loop did before.
          return cache::readAllNow(*services.blobs(), digest, blob.size);
        },
        [](const std::string &json) { return oci::manifestMediaType(json); });
  }
  if (!type && blob.manifest && !blob.mediaType.empty()) type = blob.mediaType;
  if (!type) return false;
  blob.mediaType = std::move(*type);
  return true;
}

// Opens what the lookup found and turns it into the decision's hit or candidate. False when the
// file cannot be read (or, by digest as a manifest, typed): then it is a miss.
bool takeLookup(HandlerServices &services, const oci::RegistryRoute &route,
                const Credential &credential, CacheLookup lookup, CacheDecision &decision,
                const std::string &logPrefix) {
  auto digest = oci::parseDigest(lookup.blob.digest);
  if (!digest) return false;
  // An indexed blob is this host's own: read from its own tier, never a blocking question to
  // the fleet's bucket on the loop (a row whose file is gone is a miss, which may ask the bucket).
  cache::BlobStore &store = services.tiered() ? services.tiered()->local() : *services.blobs();
  auto reader = store.openReader(*digest, services.completions());
  if (!reader.ok()) {
    // The index outlived the file (deleted by hand): forget it and fetch again.
    log::cache().warn("{} {} is indexed but unreadable ({}); refetching", logPrefix,
                      lookup.blob.digest, reader.failure().detail);
    services.indexWriter()->removeBlob(lookup.blob.digest);
    return false;
  }
  if (route.byDigest() && lookup.blob.manifest && !typeAsManifest(services, *digest, lookup.blob)) {
    return false;
  }
  if (lookup.outcome == CacheLookup::Outcome::kHit) {
    decision.hit = std::move(lookup.blob);
    decision.reader = std::move(reader.value());
    return true;
  }
  decision.candidate = CacheCandidate{
      std::move(lookup.blob),
      std::make_shared<std::unique_ptr<cache::BlobReader>>(std::move(reader.value())),
      std::move(lookup.tag),
      lookup.servableOffline,
      credential,
      route.repository};
  return true;
}

// Whether a blob GET this host has no row for may ask the fleet's bucket: a whole-blob request
// (a range comes from upstream or the local tier), at a registry the operator trusts to answer
// the access HEAD honestly (--store-registries).
bool mayServeFromBucket(HandlerServices &services, const http::RequestHead &head,
                        const ForwardTarget &route, const cache::IndexView &view,
                        const cache::Digest &digest) {
  if (services.tiered() == nullptr || head.headers.has("Range")) return false;
  if (view.findBlob(digest.toString())) return false; // this host's own view decides
  const auto &allowed = services.options().storeRegistries;
  if (allowed.empty()) return false;
  return bucketServesRegistry(allowed, route.upstream);
}

} // namespace

CacheDecision decideCache(HandlerServices &services, const http::RequestHead &head,
                          const ForwardTarget &route, const std::string &logPrefix,
                          bool askBucket) {
  CacheDecision decision;
  const cache::IndexView *view = services.indexView();
  if (view == nullptr || services.blobs() == nullptr) return decision;
  if (head.method != "GET" && head.method != "HEAD") return decision;
  std::string path = route.originTarget.substr(0, route.originTarget.find('?'));
  auto registryRoute = oci::parseRegistryPath(path);
  if (!registryRoute) return decision;
  decision.registry = http::registryKey(route.upstream, route.tls);
  LookupRequest request{*registryRoute, decision.registry, {}, {}};
  if (auto authorization = head.headers.get("Authorization")) {
    request.credential = Credential::of(*authorization);
  }
  bool byTag = !registryRoute->byDigest();
  if (byTag && registryRoute->kind != oci::RegistryRoute::Kind::kManifest) return decision;
  if (byTag) request.acceptKey = acceptKey(head);
  const ServerOptions &options = services.options();
  CacheLookup lookup =
      lookupCache(request, *view, services.accessMemo(),
                  {services.tagTtl(), options.offlineAuth, std::chrono::system_clock::now()});
  if (lookup.outcome != CacheLookup::Outcome::kMiss) {
    bool taken = takeLookup(services, *registryRoute, request.credential, std::move(lookup),
                            decision, logPrefix);
    // By digest, cached content needs no fill; by tag, only a hit does (a candidate's GET
    // fetches, and stores, upstream's answer).
    if (taken && (!byTag || decision.hit)) return decision;
  }
  const Credential &credential = request.credential;
  if (byTag) {
    if (head.method == "GET") {
      decision.fill =
          CacheFill{oci::Digest{}, {},      decision.registry,        registryRoute->repository,
                    true,          nullptr, registryRoute->reference, request.acceptKey,
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
  const oci::Digest &digest = *registryRoute->digest;
  bool manifest = registryRoute->kind == oci::RegistryRoute::Kind::kManifest;
  if (askBucket && head.method == "GET" && !manifest &&
      mayServeFromBucket(services, head, route, *view, digest)) {
    decision.bucket =
        BucketQuery{digest, decision.registry, registryRoute->repository, request.credential};
    return decision;
  }
  if (head.method == "GET") {
    // A repository upstream lets anyone read needs no credential to read its fills.
    bool openToAll =
        credential.empty() ||
        services.publicRepositories().known(decision.registry, registryRoute->repository) == true;
    // One fill per registry, kind and digest, whoever asks: another registry's upstream (maybe a
    // client's own slow or lying server) must not hold up clients of this one, and a manifest's
    // reader needs upstream's manifest type, not a blob's. Whether a reader may see it is decided
    // below, per reader.
    std::string fillKey =
        decision.registry + (manifest ? " manifest " : " blob ") + digest.toString();
    std::shared_ptr<cache::FillProgress> progress;
    if (cache::FillRegistry *fills = services.fills()) {
      auto [joined, leader] = fills->join(
          fillKey, cache::FillLeader{credential.key, registryRoute->repository, openToAll});
      if (!leader) {
        // Someone is fetching this digest already, on this thread or another: read its fill.
        const cache::FillLeader &startedBy = joined->leader;
        // The leader's own credential, or content anyone may read, needs no question. Nor does a
        // credential upstream accepted a moment ago for the repository the leader fetched this
        // digest under. Anyone else waits for upstream's yes to a HEAD of its own.
        bool mayRead = credential.key == startedBy.credentialKey ||
                       (openToAll && startedBy.openToAll) ||
                       (!credential.empty() && registryRoute->repository == startedBy.repository &&
                        services.accessMemo().accepted(credential.key, decision.registry,
                                                       registryRoute->repository));
        if (!mayRead) decision.confirmJoin = JoinToConfirm{credential, registryRoute->repository};
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
