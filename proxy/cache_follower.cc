#include "proxy/cache_follower.h"

#include "base/log.h"
#include "proxy/worker.h"

namespace regcache::proxy {
namespace {
constexpr std::size_t kChunk = 64 * 1024;
constexpr timeval kPollInterval{0, 10 * 1000}; // how often a follower looks for new bytes
} // namespace

CacheFollower::CacheFollower(ClientSide &client, const http::RequestHead &request,
                             cache::Digest digest, std::shared_ptr<cache::FillProgress> progress,
                             std::string upstreamName)
    : client_(client), keepAlive_(request.keepAlive), digest_(std::move(digest)),
      progress_(std::move(progress)) {
  record_ = startAccessRecord(client_, request.method, std::move(upstreamName), request.target);
  record_.note = "cache MISS, joined a fill in flight";
  record_.cache = "COALESCED";
  record_.fromCache = true;
}

CacheFollower::~CacheFollower() = default;

void CacheFollower::start() {
  timer_.reset(evtimer_new(client_.worker().base(), &CacheFollower::onTimer, this));
  log::cache().debug("{} following the fill of {}", client_.logPrefix(), digest_.toString());
  poll();
}

void CacheFollower::onTimer(evutil_socket_t, short, void *arg) noexcept {
  static_cast<CacheFollower *>(arg)->poll();
}

void CacheFollower::poll() {
  if (done_ || reading_) return;
  int state = progress_->state.load(std::memory_order_acquire);
  if (!headSent_) {
    if (state == cache::FillProgress::kPending) {
      evtimer_add(timer_.get(), &kPollInterval);
      return;
    }
    if (state == cache::FillProgress::kFailed || !openSource()) {
      // Nothing sent yet: this request can still be answered on its own.
      done_ = true;
      log::cache().debug("{} the fill of {} ended without a blob; forwarding", client_.logPrefix(),
                         digest_.toString());
      client_.forwardInstead();
      return;
    }
    sendHead();
  }
  if (state == cache::FillProgress::kFailed) {
    fail("the fill this request followed failed");
    return;
  }
  pump();
}

bool CacheFollower::openSource() {
  // The leader's write, while it streams and after it committed; else the committed blob.
  if (progress_->readers) {
    auto reader = progress_->readers->openReader(client_.worker().completions());
    if (reader.ok()) {
      reader_ = std::move(reader.value());
      return true;
    }
  }
  if (auto *store = client_.worker().shared().blobs) {
    auto reader = store->openReader(digest_, client_.worker().completions());
    if (reader.ok()) {
      reader_ = std::move(reader.value());
      return true;
    }
  }
  return false;
}

void CacheFollower::sendHead() {
  http::ResponseHead head;
  head.status = 200;
  head.reason = "OK";
  head.headers.add("Content-Type", progress_->contentType.empty() ? "application/octet-stream"
                                                                  : progress_->contentType);
  head.headers.add("Content-Length", std::to_string(progress_->size));
  head.headers.add("Docker-Content-Digest", digest_.toString());
  head.headers.add("X-Cache", "MISS");
  head.headers.add("Via", "1.1 regcache");
  if (!keepAlive_) head.headers.add("Connection", "close");
  std::string serialized = http::serializeResponseHead(head);
  evbuffer_add(client_.clientOutput(), serialized.data(), serialized.size());
  headSent_ = true;
  record_.status = 200;
}

void CacheFollower::pump() {
  std::uint64_t size = progress_->size;
  // Bytes are only trusted up to what the leader has written so far.
  std::uint64_t available = progress_->written.load(std::memory_order_acquire);
  bool committed =
      progress_->state.load(std::memory_order_acquire) == cache::FillProgress::kCommitted;
  if (committed) {
    available = size;
  } else if (available >= size && size > 0) {
    available = size - 1; // the last byte waits for the leader's digest check
  }
  while (offset_ < available && offset_ < size && !client_.clientOutputFull()) {
    std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(available - offset_, kChunk));
    auto now = reader_->tryReadNow(offset_, want);
    if (!now) {
      reading_ = true;
      reader_->read(offset_, want, [this](Result<std::span<const char>> bytes) {
        reading_ = false;
        if (onRead(bytes)) poll();
      });
      return;
    }
    if (!onRead(*now)) return;
  }
  if (offset_ >= size && committed) {
    done_ = true;
    completeRequest(client_.worker().shared().metrics, record_);
    client_.onResponseComplete(true);
    return;
  }
  // The last bytes go out only once the leader has verified the digest.
  if (!client_.clientOutputFull()) waitForMore();
}

void CacheFollower::waitForMore() { evtimer_add(timer_.get(), &kPollInterval); }

bool CacheFollower::onRead(const Result<std::span<const char>> &bytes) {
  if (done_) return false;
  if (!bytes.ok()) {
    fail("reading the fill failed: " + bytes.failure().detail);
    return false;
  }
  if (bytes->empty()) {
    // Not stored yet, although the leader counted it: look again on the next tick.
    waitForMore();
    return false;
  }
  std::size_t n = std::min<std::uint64_t>(bytes->size(), progress_->size - offset_);
  evbuffer_add(client_.clientOutput(), bytes->data(), n);
  offset_ += n;
  record_.bytesSent += n;
  return true;
}

void CacheFollower::fail(const std::string &why) {
  done_ = true;
  record_.note = why;
  completeRequest(client_.worker().shared().metrics, record_);
  client_.abortClient(why);
}

} // namespace regcache::proxy
