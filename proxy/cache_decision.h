#pragma once
// Whether a forwarded request can be answered from the cache, follow a fill in flight, or
// should lead a fill. GET and HEAD of blobs and manifests qualify.
//
// Who may see cached content: what upstream served to a client without credentials under
// (registry, repository) is served to anyone asking under that repository. Anything else (content
// fetched with credentials, or asked for under another repository) is served only after upstream
// accepts the client for the repository: an upstream HEAD with the client's own headers, whose
// answer is remembered per credential for a minute at most (AccessMemo). Only a registry that
// served the digest before may confirm it so; at any other the request is a miss, whose bytes are
// fetched and verified. Fills are shared only within one registry, between requests with the same
// credential (or none) or in a repository found public (PublicRepositories), so nobody follows a
// fill they could not start.
#include <optional>

#include "cache/blob_store.h"
#include "cache/index.h"
#include "proxy/exchange.h"
#include "proxy/route.h"

namespace regcache::proxy {

class Worker;

struct CacheDecision {
  std::optional<cache::BlobRecord> hit; // serve this from `reader`
  std::unique_ptr<cache::BlobReader> reader;
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
