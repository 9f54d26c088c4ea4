#pragma once
// Whether a forwarded request can be answered from the cache, follow a fill in flight, or
// should lead a fill. GET and HEAD of blobs and manifests qualify.
//
// Who may see cached content is decided by lookupCache (proxy/cache_lookup.h), a pure function
// of the request, the index view and the access memo; this adds the reader, the fill and the
// follower. Nothing here waits on SQLite. A fill is shared within one registry (kind and digest):
// by requests with the leader's credential (or, both open to all, none or a repository found
// public) at once; by any other only after upstream accepts that client for this content (a
// JoinCheck: a HEAD with its own Authorization at the fill's registry), or if it accepted it for
// the leader's repository a moment ago (AccessMemo). So nobody reads a fill they could not have
// started.
#include <optional>

#include "cache/blob_store.h"
#include "cache/index.h"
#include "proxy/cache/bucket_lookup.h"
#include "proxy/cache/cache_fill.h"
#include "proxy/cache/join_check.h"
#include "proxy/cache/revalidation.h"
#include "proxy/http/target.h"

namespace regcache::proxy {

class HandlerServices;

struct CacheDecision {
  std::optional<cache::BlobRecord> hit; // serve this from `reader`
  std::unique_ptr<cache::BlobReader> reader;
  std::optional<CacheFill> fill;               // a miss worth storing: this request leads the fill
  std::shared_ptr<cache::FillProgress> follow; // a miss being filled by another request
  // Set with `follow` when upstream must accept this client before it reads a byte of the fill.
  std::optional<JoinToConfirm> confirmJoin;
  std::string registry;       // the registry key (http::registryKey): the index names it, logs too
  std::string xCache = "HIT"; // for a hit
  std::optional<CacheCandidate> candidate; // cached, to serve once upstream confirms it
  // A HEAD by tag going upstream: record the digest upstream names (digest, media type and time
  // filled in from its answer).
  std::optional<cache::TagRecord> tagToLearn;
  // A blob GET this host has no row for, which the fleet's bucket may hold: ask it first
  // (BucketLookup), then decide again with `askBucket` false if it has nothing.
  std::optional<BucketQuery> bucket;
};

// Where a forwarded request goes upstream: what the cache decides on (the session's route of a
// forward, the only kind the cache ever answers).
struct ForwardTarget {
  const http::HostPort &upstream;
  bool tls = false;
  const std::string &originTarget; // path and query sent upstream
};

// `askBucket` false: decide as if there were no shared store (the bucket said no).
CacheDecision decideCache(HandlerServices &services, const http::RequestHead &head,
                          const ForwardTarget &route, const std::string &logPrefix,
                          bool askBucket = true);

} // namespace regcache::proxy
