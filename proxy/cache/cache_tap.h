#pragma once
// The registry cache's side of one forwarded request (an ExchangeTap,
// proxy/forward/exchange_tap.h): the Exchange forwards, and this decides, from what the cache holds
// for the request, whether upstream's answer revalidates a cached copy, is stood in for by it when
// upstream fails, names a tag's digest, or fills the cache. A 200 with a Content-Length to a fill's
// GET starts a Fill (proxy/cache/fill.h): the Exchange hands itself to it and streams the body into
// it, and the client reads the fill like any other reader (a StarterReader takes the Exchange's
// place in the session). The fill stores the body and commits it only if its SHA-256 and length
// match; on a mismatch every reader is cut off before the last bytes, so no client ever gets a
// complete response with wrong bytes.
#include <memory>
#include <optional>
#include <string>

#include "cache/index.h"
#include "proxy/cache/cache_fill.h"
#include "proxy/cache/revalidation.h"
#include "proxy/cache/tap_rules.h"
#include "proxy/forward/exchange.h"
#include "proxy/forward/exchange_tap.h"

namespace regcache::proxy {

class HandlerServices;

class CacheTap final : public ExchangeTap {
public:
  // `fill`: the request leads a fill. `candidate`: a cached copy waiting for upstream's word.
  // `tagToLearn`: a client HEAD of a manifest by tag, whose digest upstream's 200 names (clients
  // such as dockerd pull by HEAD on the tag, then GET by digest; without it the tag would never
  // be in the cache, and such a pull would fail while upstream is down).
  CacheTap(HandlerServices &services, std::optional<CacheFill> fill,
           std::optional<CacheCandidate> candidate, std::optional<cache::TagRecord> tagToLearn);
  // Followers of a fill that never started are told it is over.
  ~CacheTap() override;

  bool revalidates(std::string_view method) const override;
  bool fills() const override { return fill_.has_value(); }
  TapVerdict judge(const TapHead &head) const override;
  bool coversFailure() const override;
  std::unique_ptr<RequestHandler>
  answerForFailure(ClientSide &client, const http::RequestHead &request, const std::string &host,
                   const std::string &upstream, const std::string &why) override;
  void onHead(ClientSide &client, std::string_view method, http::ResponseHead &head, int redirects,
              AccessRecord &record, const net::Endpoint &registry) override;
  void markFill(http::ResponseHead &head, AccessRecord &record) override;
  // Starts a fill, unless the body is announced past --max-blob-size or does not fit beside the
  // fills in flight (FillBudget): then it passes through, and followers are told at once so they
  // fetch on their own.
  bool takeBody(Exchange &exchange, const http::ResponseHead &head,
                std::string &serializedHead) override;
  bool confirms(const http::ResponseHead &head, int redirects) const override;
  std::unique_ptr<RequestHandler> afterRevalidation(ClientSide &client, bool confirmed,
                                                    http::RequestHead request, std::string target,
                                                    const net::Endpoint &registry,
                                                    const AccessRecord &record,
                                                    bool mirror) override;
  void abandon() override;

private:
  TapIntent intent() const;
  void declineFill(Exchange &exchange, const std::string &why);

  HandlerServices &services_;
  std::optional<CacheFill> fill_;
  std::optional<CacheCandidate> candidate_;
  std::optional<cache::TagRecord> tagToLearn_;
};

// The Exchange that forwards a request for the cache: with a CacheTap when the cache has
// anything to do with the answer, a plain one otherwise. `mirror`: Exchange::servesMirror.
std::unique_ptr<Exchange> forwardForCache(ClientSide &client, http::RequestHead request,
                                          net::Endpoint endpoint, std::string originTarget,
                                          std::optional<CacheFill> fill,
                                          std::optional<CacheCandidate> candidate,
                                          std::optional<cache::TagRecord> tagToLearn, bool mirror);

} // namespace regcache::proxy
