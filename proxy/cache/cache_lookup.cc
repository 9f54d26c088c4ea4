#include "proxy/cache/cache_lookup.h"

#include <algorithm>
#include <vector>

#include "proxy/http/headers.h"

namespace regcache::proxy {

namespace {

// Decides between a hit and a check with upstream for indexed content; a miss when this
// registry never served it.
CacheLookup serveOrConfirm(const LookupRequest &request, const cache::IndexedBlob &entry,
                           cache::BlobRecord blob, std::optional<cache::TagRecord> tag, bool fresh,
                           const AccessMemo &memo, const LookupPolicy &policy) {
  CacheLookup lookup;
  // A HEAD proves nothing about bytes: only a registry that served this digest before may
  // confirm a client's access to it. Any other (a client may name its own server) must send the
  // bytes, which are verified like any fill.
  if (!entry.servedAtRegistry(request.registry)) return lookup;
  // Upstream's yes for a repository covers only what it served under that repository: a digest
  // stored from another one may not be in this one at all.
  const std::string &repository = request.route.repository;
  bool servedHere = entry.servedUnder(request.registry, repository, false);
  bool publicHere = servedHere && entry.servedUnder(request.registry, repository, true);
  bool anonymous = request.credential.empty();
  bool accepted =
      publicHere || (servedHere && !anonymous &&
                     memo.accepted(request.credential.key, request.registry, repository));
  lookup.blob = std::move(blob);
  lookup.tag = std::move(tag);
  if (fresh && accepted) {
    lookup.outcome = CacheLookup::Outcome::kHit;
    return lookup;
  }
  // Public content may be served while upstream is unreachable. Content only ever fetched with
  // credentials only when the operator said so, to clients that send credentials, and only where
  // upstream served it.
  bool trustCached = policy.offlineAuth == OfflineAuth::kTrustCached && !anonymous && servedHere;
  lookup.outcome = CacheLookup::Outcome::kConfirm;
  lookup.servableOffline = publicHere || trustCached;
  return lookup;
}

// A manifest by tag: fresh within the tag TTL it may be a hit; older, it is revalidated upstream
// with the cached copy kept as the fallback when upstream fails.
CacheLookup lookupTag(const LookupRequest &request, const cache::IndexView &view,
                      const AccessMemo &memo, const LookupPolicy &policy) {
  const oci::RegistryRoute &route = request.route;
  auto tag = view.findTag(request.registry, route.repository, route.reference, request.acceptKey);
  if (!tag) return {};
  auto digest = oci::parseDigest(tag->digest);
  if (!digest) return {};
  auto entry = view.findBlob(digest->toString());
  if (!entry) return {};
  cache::BlobRecord blob = entry->record;
  blob.mediaType = tag->mediaType;
  blob.manifest = true;
  bool fresh = policy.now - tag->checkedAt < policy.tagTtl;
  return serveOrConfirm(request, *entry, std::move(blob), std::move(tag), fresh, memo, policy);
}

} // namespace

CacheLookup lookupCache(const LookupRequest &request, const cache::IndexView &view,
                        const AccessMemo &memo, const LookupPolicy &policy) {
  const oci::RegistryRoute &route = request.route;
  if (!route.byDigest()) {
    if (route.kind != oci::RegistryRoute::Kind::kManifest) return {};
    return lookupTag(request, view, memo, policy);
  }
  auto entry = view.findBlob(route.digest->toString());
  if (!entry) return {};
  cache::BlobRecord blob = entry->record;
  blob.manifest = route.kind == oci::RegistryRoute::Kind::kManifest; // asked for as
  return serveOrConfirm(request, *entry, std::move(blob), std::nullopt, true, memo, policy);
}

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

} // namespace regcache::proxy
