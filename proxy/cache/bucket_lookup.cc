#include "proxy/cache/bucket_lookup.h"

#include <event2/event.h>

#include <cctype>
#include <chrono>
#include <optional>
#include <string_view>

#include "base/log.h"
#include "cache/index.h"
#include "cache/index_writer.h"
#include "cache/tiered_blob_store.h"
#include "proxy/cache/cache_tap.h"
#include "proxy/cache/public_probe.h"
#include "proxy/handler_services.h"

namespace regcache::proxy {

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "1234" as a port; nullopt for anything else.
std::optional<std::uint16_t> parsePort(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// One --store-registries entry ("host", "host:port", "[v6]:port", "*.domain[:port]") against a
// registry's lowercased host and port. A malformed entry matches nothing.
bool entryMatches(std::string_view entry, const std::string &host, std::uint16_t port) {
  std::string_view name = entry;
  std::optional<std::uint16_t> wanted = 443;
  if (!entry.empty() && entry.front() == '[') {
    auto close = entry.find(']');
    if (close == std::string_view::npos) return false;
    name = entry.substr(1, close - 1);
    auto rest = entry.substr(close + 1);
    if (!rest.empty()) wanted = rest.front() == ':' ? parsePort(rest.substr(1)) : std::nullopt;
  } else if (auto colon = entry.find(':'); colon != std::string_view::npos) {
    if (entry.find(':', colon + 1) != std::string_view::npos) return false; // v6 needs brackets
    name = entry.substr(0, colon);
    wanted = parsePort(entry.substr(colon + 1));
  }
  if (!wanted || *wanted != port) return false;
  std::string lowered = lowercase(name);
  if (lowered == "docker.io" || lowered == "index.docker.io") lowered = "registry-1.docker.io";
  if (lowered.rfind("*.", 0) == 0) {
    std::string_view suffix = std::string_view(lowered).substr(1); // ".domain"
    return host.size() > suffix.size() &&
           host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return !lowered.empty() && host == lowered;
}

} // namespace

bool bucketServesRegistry(const std::vector<std::string> &allowed, const http::HostPort &registry) {
  std::string host = lowercase(registry.host);
  for (const auto &entry : allowed) {
    if (entry == "*" || entryMatches(entry, host, registry.port)) return true;
  }
  return false;
}

std::function<void()> indexFromBucket(HandlerServices &services, cache::BlobRecord blob,
                                      cache::BlobSource source, net::Endpoint registry,
                                      bool credentialed) {
  return [&services, blob = std::move(blob), source = std::move(source),
          registry = std::move(registry), credentialed] {
    cache::IndexWriter *writer = services.indexWriter();
    if (writer == nullptr) return;
    // In the view at once: the blob is stored here now, like one a fill just committed.
    writer->addSource(blob, source);
    if (credentialed) {
      noteCredentialedFetch(services, registry, source.registry, source.repository, blob);
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
  HandlerServices &services = client_.services();
  cache::TieredBlobStore *tiered = services.tiered();
  timer_.reset(evtimer_new(services.base(), &BucketLookup::onTimeout, this));
  auto timeout =
      std::chrono::duration_cast<std::chrono::microseconds>(services.options().storeTimeout);
  timeval tv{static_cast<time_t>(timeout.count() / 1000000),
             static_cast<suseconds_t>(timeout.count() % 1000000)};
  evtimer_add(timer_.get(), &tv);
  // Completed on this worker's queue; the token drops an answer that comes after this handler.
  std::weak_ptr<bool> alive = alive_;
  tiered->statRemote(query_.digest, services.completions(),
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
  if (cache::TieredBlobStore *tiered = self->client_.services().tiered()) {
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
  if (size > client_.services().options().maxBlobSize) {
    fallBack("the bucket's copy is larger than --max-blob-size");
    return;
  }
  serveCandidate(size);
}

void BucketLookup::serveCandidate(std::uint64_t size) {
  answered_ = true;
  evtimer_del(timer_.get());
  HandlerServices &services = client_.services();
  // Filled in by the Exchange if upstream says yes; a reader that never reads never runs it.
  auto onWarmed = std::make_shared<std::function<void()>>();
  auto reader =
      services.tiered()->openRemoteReader(query_.digest, size, services.completions(), [onWarmed] {
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
  client_.replaceHandler(forwardForCache(client_, std::move(request_), std::move(endpoint_),
                                         std::move(originTarget_), std::nullopt,
                                         std::move(candidate), std::nullopt, mirror_));
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
