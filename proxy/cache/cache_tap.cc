#include "proxy/cache/cache_tap.h"

#include "base/log.h"
#include "cache/blob_store.h"
#include "cache/fill_budget.h"
#include "proxy/cache/bucket_lookup.h"
#include "proxy/cache/fill.h"
#include "proxy/cache/starter_reader.h"
#include "proxy/handler_services.h"
#include "proxy/http/target.h"

namespace regcache::proxy {

CacheTap::CacheTap(HandlerServices &services, std::optional<CacheFill> fill,
                   std::optional<CacheCandidate> candidate,
                   std::optional<cache::TagRecord> tagToLearn)
    : services_(services), fill_(std::move(fill)), candidate_(std::move(candidate)),
      tagToLearn_(std::move(tagToLearn)) {}

CacheTap::~CacheTap() { abandon(); }

TapIntent CacheTap::intent() const {
  TapIntent intent;
  intent.fill = fill_.has_value();
  if (candidate_) {
    intent.candidate = true;
    intent.refused = candidate_->refused;
    intent.candidateIsBlob = !candidate_->tag && !candidate_->blob.manifest;
    intent.servableOffline = candidate_->servableOffline;
  }
  return intent;
}

bool CacheTap::revalidates(std::string_view method) const {
  return proxy::revalidates(intent(), method);
}

TapVerdict CacheTap::judge(const TapHead &head) const { return judgeHead(intent(), head); }

bool CacheTap::coversFailure() const { return proxy::coversFailure(intent()); }

std::unique_ptr<RequestHandler> CacheTap::answerForFailure(ClientSide &client,
                                                           const http::RequestHead &request,
                                                           const std::string &host,
                                                           const std::string &upstream,
                                                           const std::string &why) {
  if (!coversFailure() || !candidate_->reader || !*candidate_->reader) return nullptr;
  log::cache().warn("{} {}: {}; serving the cached manifest (stale)", client.logPrefix(), upstream,
                    why);
  return serveCandidate(client, request, *candidate_, host, "STALE", "cache STALE: " + why);
}

void CacheTap::onHead(ClientSide &client, std::string_view method, http::ResponseHead &head,
                      int redirects, AccessRecord &record, const net::Endpoint &registry) {
  if (method != "HEAD") return;
  if (candidate_ && upstreamConfirms(*candidate_, head, redirects)) {
    recordConfirmation(services_, *candidate_, registry);
    head.headers.set("X-Cache", "REVALIDATED");
    record.cache = "REVALIDATED";
  } else if (tagToLearn_ && head.status == 200) {
    if (learnTagFromHead(services_, *tagToLearn_, head, client.logPrefix())) tagToLearn_.reset();
  }
}

void CacheTap::markFill(http::ResponseHead &head, AccessRecord &record) {
  head.headers.set("X-Cache", "MISS");
  record.cache = "MISS";
}

bool CacheTap::takeBody(Exchange &exchange, const http::ResponseHead &head,
                        std::string &serializedHead) {
  cache::BlobStore *store = services_.blobs();
  if (!fill_ || store == nullptr || !services_.cacheEnabled() || !head.contentLength) return false;
  ClientSide &starter = exchange.client();
  if (fill_->tag) {
    // By tag the digest is whatever upstream says it is; the body must then hash to it.
    auto announced = oci::parseDigest(head.headers.get("Docker-Content-Digest").value_or(""));
    if (!announced) return false;
    fill_->digest = *announced;
  }
  std::uint64_t announced = *head.contentLength;
  const ServerOptions &options = services_.options();
  if (announced > options.maxBlobSize) {
    declineFill(exchange, std::to_string(announced) + " bytes announced, past --max-blob-size " +
                              std::to_string(options.maxBlobSize));
    return false;
  }
  cache::FillBudget::Reservation reservation;
  if (cache::FillBudget *budget = services_.fillBudget()) {
    auto reserved = budget->reserve(announced);
    if (!reserved) {
      declineFill(exchange, std::to_string(announced) + " bytes do not fit beside the " +
                                std::to_string(budget->reserved()) +
                                " bytes of fills in flight under --cache-max-size " +
                                std::to_string(budget->limit()));
      return false;
    }
    reservation = std::move(*reserved);
  }
  auto writer = store->begin(fill_->digest, services_.completions());
  if (!writer.ok()) {
    log::cache().warn("{} cannot start a fill for {}: {}; passing through", starter.logPrefix(),
                      fill_->digest.toString(), writer.failure().detail);
    return false;
  }
  // From here the fill owns the exchange, and the client reads the fill like any other reader.
  auto fill = std::make_unique<Fill>(
      services_,
      Fill::Start{std::move(*fill_), exchange.registryEndpoint(), std::move(writer.value()),
                  std::move(reservation), services_.metrics().holdFill(), announced,
                  std::string(head.headers.get("Content-Type").value_or(""))},
      starter);
  fill_.reset();
  exchange.feedInto(*fill, fill->fetchEnd());
  auto reader = std::make_unique<StarterReader>(
      starter, *fill, exchange.record(), std::move(serializedHead), exchange.clientKeepAlive());
  fill->adoptFetch(starter.handOver(std::move(reader)), exchange);
  services_.keepFill(std::move(fill));
  return true;
}

void CacheTap::declineFill(Exchange &exchange, const std::string &why) {
  log::cache().warn("{} not caching {}: {}; passing through", exchange.client().logPrefix(),
                    fill_->digest.toString(), why);
  AccessRecord &record = exchange.record();
  record.note = record.note.empty() ? "not cached: " + why : record.note + "; not cached: " + why;
  abandon(); // followers fetch on their own instead of waiting
}

bool CacheTap::confirms(const http::ResponseHead &head, int redirects) const {
  return candidate_ && upstreamConfirms(*candidate_, head, redirects);
}

std::unique_ptr<RequestHandler>
CacheTap::afterRevalidation(ClientSide &client, bool confirmed, http::RequestHead request,
                            std::string target, const net::Endpoint &registry,
                            const AccessRecord &record, bool mirror) {
  if (confirmed) {
    recordConfirmation(services_, *candidate_, registry);
    bool fromBucket = candidate_->fromBucket;
    std::string note = std::string(fromBucket ? "cache BUCKET" : "cache REVALIDATED") +
                       ": upstream HEAD confirmed " + candidate_->blob.digest;
    if (fromBucket && candidate_->onWarmed) {
      // Indexed once the local tier holds the verified blob, with the source upstream confirmed.
      std::string key =
          http::registryKey(http::HostPort{registry.host, registry.port,
                                           registry.host.find(':') != std::string::npos},
                            registry.tls);
      *candidate_->onWarmed = indexFromBucket(
          services_, candidate_->blob,
          cache::BlobSource{key, candidate_->repository, candidate_->credential.empty()}, registry,
          !candidate_->credential.empty());
    }
    return serveCandidate(client, std::move(request), *candidate_, record.host,
                          fromBucket ? "BUCKET" : "REVALIDATED", std::move(note));
  }
  log::cache().debug("{} upstream did not confirm the cached {} ({}); asking for it",
                     client.logPrefix(), candidate_->blob.digest, record.status);
  candidate_->refused = true;
  // The fill and the candidate go to the exchange that asks again; nothing is left here to end.
  auto fill = std::exchange(fill_, std::nullopt);
  auto candidate = std::exchange(candidate_, std::nullopt);
  return forwardForCache(client, std::move(request), registry, std::move(target), std::move(fill),
                         std::move(candidate), std::nullopt, mirror);
}

void CacheTap::abandon() {
  if (!fill_ || !fill_->progress || fill_->progress->terminal()) return;
  if (cache::FillRegistry *fills = services_.fills()) {
    fills->finish(fill_->fillKey, fill_->progress, cache::FillProgress::kFailed);
  } else {
    fill_->progress->publishState(cache::FillProgress::kFailed);
  }
}

std::unique_ptr<Exchange> forwardForCache(ClientSide &client, http::RequestHead request,
                                          net::Endpoint endpoint, std::string originTarget,
                                          std::optional<CacheFill> fill,
                                          std::optional<CacheCandidate> candidate,
                                          std::optional<cache::TagRecord> tagToLearn, bool mirror) {
  std::unique_ptr<ExchangeTap> tap;
  if (fill || candidate || tagToLearn) {
    tap = std::make_unique<CacheTap>(client.services(), std::move(fill), std::move(candidate),
                                     std::move(tagToLearn));
  }
  auto exchange = std::make_unique<Exchange>(client, std::move(request), std::move(endpoint),
                                             std::move(originTarget), std::move(tap));
  if (mirror) exchange->servesMirror();
  return exchange;
}

} // namespace regcache::proxy
