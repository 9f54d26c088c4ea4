#pragma once
// A blob or manifest by digest to store while it streams to the client: what cache_decision.h
// hands the request that leads a fill, and what the fill (proxy/cache/fill.h) keeps of it.
#include <memory>
#include <optional>
#include <string>

#include "base/oci/digest.h"
#include "cache/fill_registry.h"
#include "proxy/access/access_memo.h"

namespace regcache::proxy {

struct CacheFill {
  oci::Digest digest;
  std::string fillKey;    // in the FillRegistry: registry, kind, digest, and credential if any
  std::string registry;   // upstream host[:port]
  std::string repository; // "library/alpine"
  bool manifest = false;
  std::shared_ptr<cache::FillProgress> progress; // shared with followers on any worker
  // By tag: the digest comes from the response's Docker-Content-Digest, and the tag is recorded.
  std::optional<std::string> tag;
  std::string acceptKey;
  // The client's Authorization; empty: fetched without credentials, so servable to anyone
  // asking under this repository.
  Credential credential;
};

} // namespace regcache::proxy
