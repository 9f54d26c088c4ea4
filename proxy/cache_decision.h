#pragma once
// Whether a forwarded request can be answered from the cache, follow a fill in flight, or
// should lead a fill. GET and HEAD of blobs and manifests qualify (manifests by digest, or by tag
// within --tag-ttl), only without an Authorization header: content a client got with
// credentials must not reach one that upstream would refuse, and the check that would allow it
// (an upstream HEAD per credential) is not built yet.
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
  std::string registry;                        // upstream host[:port], for logs
  std::string xCache = "HIT";                  // for a hit
  std::optional<StaleFallback> stale;          // a tag's cached manifest, if refreshing it fails
};

CacheDecision decideCache(Worker &worker, const http::RequestHead &head, const Route &route,
                          const std::string &logPrefix);

} // namespace regcache::proxy
