#pragma once
// Revalidation and stale serving: what the cache decides about a cached copy from upstream's
// answer to a HEAD (or a GET) that the forwarding Exchange made for it. The Exchange runs the
// exchange; these say whether the answer is a yes, record it, and build the cache handler that
// then serves the client.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cache/blob_store.h"
#include "cache/index.h"
#include "proxy/access/access_memo.h"
#include "proxy/http/message.h"
#include "proxy/net/connector.h"
#include "proxy/request_handler.h"

namespace regcache::proxy {

class HandlerServices;

// Cached content that needs upstream's word first: a tag past --tag-ttl, or content the client
// has not been shown to be allowed to see. A client GET first asks upstream with a HEAD carrying
// the client's own headers (Docker Hub does not count HEADs against the rate limit); a yes (for a
// tag: the same digest) serves the cached copy, anything else makes the GET. When upstream fails
// (unreachable, 5xx, 429) the cached copy is served stale if `servableOffline`.
struct CacheCandidate {
  cache::BlobRecord blob;
  std::shared_ptr<std::unique_ptr<cache::BlobReader>> reader; // on this worker's loop
  std::optional<cache::TagRecord> tag; // by tag: confirmed means the same digest
  bool servableOffline = false;
  Credential credential; // the client's Authorization; empty: none
  std::string repository;
  bool refused = false; // the HEAD said no: go straight to the GET
  // Not indexed here: the fleet's bucket has it (proxy/cache/bucket_lookup.h). A yes streams it
  // from the bucket, and the row is written once the local tier holds it verified.
  bool fromBucket = false;
  // fromBucket: what runs once the bucket's bytes verified and the local tier holds them; set
  // when upstream confirms (indexFromBucket), so a refused client leaves no row.
  std::shared_ptr<std::function<void()>> onWarmed{};
};

// Whether upstream's answer confirms the candidate: only a 200 is a yes (a 3xx may be an SSO
// gateway's way to a login page), naming the candidate's digest if it names one (for a tag it
// must). Storage a registry sent the HEAD to (`redirects` > 0) names no digest: there the length
// must be the blob's.
bool upstreamConfirms(const CacheCandidate &candidate, const http::ResponseHead &head,
                      int redirects);

// Records what upstream confirmed at `registry` (the registry the client named): the client's
// access, the source, and for a tag the time it was checked.
void recordConfirmation(HandlerServices &services, const CacheCandidate &candidate,
                        const net::Endpoint &registry);

// A client HEAD of a tag answered 200: records the digest and media type upstream named for
// `tag`; false (nothing recorded) if it named none.
bool learnTagFromHead(HandlerServices &services, cache::TagRecord tag,
                      const http::ResponseHead &head, const std::string &logPrefix);

// The handler that serves the candidate's cached copy to `client` (its reader is taken), with
// X-Cache `xCache` and the access-log `note`.
std::unique_ptr<RequestHandler> serveCandidate(ClientSide &client, http::RequestHead request,
                                               CacheCandidate &candidate, std::string host,
                                               std::string xCache, std::string note);

} // namespace regcache::proxy
