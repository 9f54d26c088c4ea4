#include "proxy/cache/tap_rules.h"

namespace regcache::proxy {

bool revalidates(const TapIntent &intent, std::string_view method) {
  return intent.candidate && !intent.refused && method == "GET";
}

TapVerdict judgeHead(const TapIntent &intent, const TapHead &head) {
  bool followable = head.redirect && head.mayRedirect;
  if (revalidates(intent, head.method)) {
    // The storage a blob's HEAD is sent on to answers for it; anything else is the verdict.
    return followable && intent.candidateIsBlob ? TapVerdict::kFollowRedirect
                                                : TapVerdict::kConfirmation;
  }
  // Registries send blob GETs to a CDN with a presigned URL: followed, the client gets the blob
  // and the cache keys it on the digest, never on the URL.
  if (intent.fill && followable && head.resendable) return TapVerdict::kFollowRedirect;
  if (intent.fill && head.method == "GET" && head.status == 200) return TapVerdict::kFill;
  return TapVerdict::kPass;
}

bool coversFailure(const TapIntent &intent) { return intent.candidate && intent.servableOffline; }

} // namespace regcache::proxy
