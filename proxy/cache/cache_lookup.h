#pragma once
// The cache lookup as a pure function: from the request, the index view and the access memo,
// whether cached content may go out now (a hit), only once upstream confirms the client (a
// candidate), or not at all (a miss). No I/O: the caller opens the file, and a file that cannot
// be read turns any answer into a miss.
//
// Who may see cached content: what upstream served to a client without credentials under
// (registry, repository) is served to anyone asking under that repository. Anything else (content
// fetched with credentials, or asked for under another repository) is served only after upstream
// accepts the client for the repository: an upstream HEAD with the client's own headers, whose
// answer the AccessMemo remembers. Only a registry that served the digest before may confirm it
// so; at any other the request is a miss, whose bytes are fetched and verified.
#include <chrono>
#include <optional>
#include <string>

#include "base/oci/registry_route.h"
#include "cache/index.h"
#include "cache/index_view.h"
#include "proxy/access/access_memo.h"
#include "proxy/http/message.h"
#include "proxy/server_options.h"

namespace regcache::proxy {

struct LookupRequest {
  oci::RegistryRoute route; // a blob or manifest path (oci::parseRegistryPath)
  std::string registry;     // the registry key (http::registryKey)
  Credential credential;    // the client's Authorization; empty: none
  std::string acceptKey;    // by tag: the client's Accept, normalized (acceptKey())
};

struct LookupPolicy {
  std::chrono::milliseconds tagTtl{std::chrono::minutes(5)}; // a tag younger than this is fresh
  OfflineAuth offlineAuth = OfflineAuth::kDeny;
  cache::TimePoint now;
};

struct CacheLookup {
  enum class Outcome { kMiss, kHit, kConfirm };
  Outcome outcome = Outcome::kMiss;
  // kHit and kConfirm: what to serve. Asked for as a manifest (by tag, or /manifests/ by
  // digest): `manifest` is set, and by tag `mediaType` is the tag's.
  cache::BlobRecord blob;
  std::optional<cache::TagRecord> tag; // by tag: the record that named `blob`
  bool servableOffline = false;        // kConfirm: may be served if upstream cannot be reached
};

// Pure: reads `view` and `memo`, changes nothing. A request by tag whose tag is unknown, whose
// manifest is not indexed, or whose digest does not parse, is a miss.
CacheLookup lookupCache(const LookupRequest &request, const cache::IndexView &view,
                        const AccessMemo &memo, const LookupPolicy &policy);

// One cache entry per set of media types a client accepts: "a, b;q=0.5" and "b, a" give the
// same key.
std::string acceptKey(const http::RequestHead &head);

} // namespace regcache::proxy
