#pragma once
// The cache's decisions on a request the Exchange forwards for it, as pure functions of what the
// cache holds for the request and of upstream's head: whether to revalidate (a HEAD instead of
// the GET), follow a redirect, wait for a confirmation, take the body into a fill, pass the
// answer on, or stand in for a failed upstream with the cached copy. CacheTap
// (proxy/cache/cache_tap.h) acts on them; unit tested apart from any socket.
#include <string_view>

#include "proxy/forward/exchange_tap.h"

namespace regcache::proxy {

// What the cache wants of one forwarded request.
struct TapIntent {
  bool fill = false;      // the request leads a fill (a miss by digest, or a manifest by tag)
  bool candidate = false; // a cached copy waits for upstream's word (proxy/cache/revalidation.h)
  bool refused = false;   // the candidate's HEAD said no: the GET goes upstream as it is
  // The candidate is a blob by digest: a registry may redirect its HEAD to storage, which then
  // answers (a manifest's or a tag's redirect is no yes).
  bool candidateIsBlob = false;
  bool servableOffline = false; // the candidate may stand in for a failed upstream
};

// A GET with a candidate not refused yet goes upstream as a HEAD first.
bool revalidates(const TapIntent &intent, std::string_view method);

// What the Exchange does with upstream's final head.
TapVerdict judgeHead(const TapIntent &intent, const TapHead &head);

// Whether a failed upstream (unreachable, timed out, 5xx, 429) may be answered from the cached
// copy (if it is still readable).
bool coversFailure(const TapIntent &intent);

} // namespace regcache::proxy
