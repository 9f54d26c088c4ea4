#pragma once
// Whether a forwarded request can be answered from the cache, follow a fill in flight, or
// should lead a fill. GET and HEAD of blobs and manifests qualify.
//
// Who may see cached content is decided by lookupCache (proxy/cache_lookup.h), a pure function
// of the request, the index view and the access memo; this adds the file, the fill and the
// follower. Fills are shared only within one registry, between requests with the same
// credential (or none) or in a repository found public (PublicRepositories), so nobody follows a
// fill they could not start. Nothing here waits on SQLite.
#include <optional>

#include "base/unique_fd.h"
#include "cache/index.h"
#include "proxy/exchange.h"
#include "proxy/route.h"

namespace regcache::proxy {

class Worker;

struct CacheDecision {
  std::optional<cache::BlobRecord> hit; // serve this from `file`
  UniqueFd file;
  std::optional<CacheFill> fill;               // a miss worth storing: this request leads the fill
  std::shared_ptr<cache::FillProgress> follow; // a miss being filled by another request
  std::string registry;       // the registry key (http::registryKey): the index names it, logs too
  std::string xCache = "HIT"; // for a hit
  std::optional<CacheCandidate> candidate; // cached, to serve once upstream confirms it
  // A HEAD by tag going upstream: record the digest upstream names (digest, media type and time
  // filled in from its answer).
  std::optional<cache::TagRecord> tagToLearn;
};

CacheDecision decideCache(Worker &worker, const http::RequestHead &head, const Route &route,
                          const std::string &logPrefix);

} // namespace regcache::proxy
