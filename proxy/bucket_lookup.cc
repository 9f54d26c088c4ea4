#include "proxy/bucket_lookup.h"

#include <event2/event.h>

#include <chrono>

#include "base/log.h"
#include "cache/index.h"
#include "cache/index_writer.h"
#include "cache/tiered_blob_store.h"
#include "proxy/exchange.h"
#include "proxy/public_probe.h"
#include "proxy/worker.h"

namespace regcache::proxy {

std::function<void()> indexFromBucket(Worker &worker, cache::BlobRecord blob,
                                      cache::BlobSource source, net::Endpoint registry,
                                      bool credentialed) {
  return [&worker, blob = std::move(blob), source = std::move(source),
          registry = std::move(registry), credentialed] {
    cache::IndexWriter *writer = worker.shared().indexWriter;
    if (writer == nullptr) return;
    // In the view at once: the blob is stored here now, like one a fill just committed.
    writer->addSource(blob, source);
    if (credentialed) {
      noteCredentialedFetch(worker, registry, source.registry, source.repository, blob);
    }
  };
}

BucketLookup::BucketLookup(ClientSide &client, http::RequestHead request, net::Endpoint endpoint,
                           std::string originTarget, bool mirror, BucketQuery query,
                           std::function<void()> withoutBucket)
    : client_(client), request_(std::move(request)), endpoint_(std::move(endpoint)),
      originTarget_(std::move(originTarget)), mirror_(mirror), query_(std::move(query)),
      withoutBucket_(std::move(withoutBucket)) {}

BucketLookup::~BucketLookup() { *alive_ = false; }

void BucketLookup::start() {
  Worker &worker = client_.worker();
  cache::TieredBlobStore *tiered = worker.shared().tiered;
  timer_.reset(evtimer_new(worker.base(), &BucketLookup::onTimeout, this));
  auto timeout =
      std::chrono::duration_cast<std::chrono::microseconds>(worker.options().storeTimeout);
  timeval tv{static_cast<time_t>(timeout.count() / 1000000),
             static_cast<suseconds_t>(timeout.count() % 1000000)};
  evtimer_add(timer_.get(), &tv);
  // Completed on this worker's queue; the token drops an answer that comes after this handler.
  std::weak_ptr<bool> alive = alive_;
  tiered->statRemote(query_.digest, worker.completions(),
                     [this, alive](Result<cache::BlobInfo> info) {
                       auto live = alive.lock();
                       if (!live || !*live) return;
                       if (info.ok()) {
                         onStat(true, info->size, {});
                       } else {
                         onStat(false, 0, info.failure().detail);
                       }
                     });
}

void BucketLookup::onClientClosed() {
  answered_ = true; // nothing more to do for a client that left
  if (timer_) evtimer_del(timer_.get());
}

void BucketLookup::onTimeout(evutil_socket_t, short, void *arg) noexcept {
  auto *self = static_cast<BucketLookup *>(arg);
  if (self->answered_) return;
  if (cache::TieredBlobStore *tiered = self->client_.worker().shared().tiered) {
    tiered->counters().add(tiered->counters().fallbacks);
  }
  log::cache().warn("{} the bucket did not answer for {} within --store-timeout; going upstream",
                    self->client_.logPrefix(), self->query_.digest.toString());
  self->fallBack("the bucket was too slow");
}

void BucketLookup::onStat(bool found, std::uint64_t size, const std::string &why) {
  if (answered_) return;
  if (!found) {
    fallBack("not in the bucket: " + why);
    return;
  }
  if (size > client_.worker().options().maxBlobSize) {
    fallBack("the bucket's copy is larger than --max-blob-size");
    return;
  }
  serveCandidate(size);
}

void BucketLookup::serveCandidate(std::uint64_t size) {
  answered_ = true;
  evtimer_del(timer_.get());
  Worker &worker = client_.worker();
  // Filled in by the Exchange if upstream says yes; a reader that never reads never runs it.
  auto onWarmed = std::make_shared<std::function<void()>>();
  auto reader = worker.shared().tiered->openRemoteReader(query_.digest, size, worker.completions(),
                                                         [onWarmed] {
                                                           if (*onWarmed) (*onWarmed)();
                                                         });
  if (!reader.ok()) {
    answered_ = false;
    fallBack("the bucket's copy cannot be read: " + reader.failure().detail);
    return;
  }
  log::cache().debug("{} {} is in the bucket ({} bytes); asking upstream whether this client may "
                     "read it",
                     client_.logPrefix(), query_.digest.toString(), size);
  auto now = std::chrono::system_clock::now();
  cache::BlobRecord blob{query_.digest.toString(), size, {}, false, now, now, 0};
  CacheCandidate candidate{
      std::move(blob),
      std::make_shared<std::unique_ptr<cache::BlobReader>>(std::move(reader.value())),
      std::nullopt,
      false, // never served from the bucket without upstream's yes, not even offline
      query_.credential,
      query_.repository};
  candidate.fromBucket = true;
  candidate.onWarmed = std::move(onWarmed);
  auto exchange =
      std::make_unique<Exchange>(client_, std::move(request_), std::move(endpoint_),
                                 std::move(originTarget_), std::nullopt, std::move(candidate));
  if (mirror_) exchange->servesMirror();
  client_.replaceHandler(std::move(exchange));
}

void BucketLookup::fallBack(const std::string &why) {
  if (answered_) return;
  answered_ = true;
  if (timer_) evtimer_del(timer_.get());
  log::cache().debug("{} {}: {}", client_.logPrefix(), query_.digest.toString(), why);
  // Never inside start(): the stat's answer and the timer both arrive from the loop.
  auto next = std::move(withoutBucket_);
  next();
}

} // namespace regcache::proxy
