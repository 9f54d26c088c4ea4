#include "proxy/cache/cache_follower.h"

#include "base/log.h"
#include "proxy/handler_services.h"

namespace regcache::proxy {
namespace {
constexpr std::size_t kChunk = 64 * 1024;
} // namespace

CacheFollower::CacheFollower(ClientSide &client, const http::RequestHead &request,
                             oci::Digest digest, std::shared_ptr<cache::FillProgress> progress,
                             std::string upstreamName)
    : client_(client), keepAlive_(request.keepAlive), digest_(std::move(digest)),
      progress_(std::move(progress)) {
  record_ = startAccessRecord(client_, request.method, std::move(upstreamName), request.target);
  record_.note = "cache MISS, joined a fill in flight";
  record_.cache = "COALESCED";
  record_.fromCache = true;
}

CacheFollower::CacheFollower(ClientSide &client, const http::RequestHead &request,
                             oci::Digest digest, std::shared_ptr<cache::FillProgress> progress,
                             std::string upstreamName, JoinToConfirm confirm,
                             net::Endpoint registry, std::string originTarget,
                             std::string registryKey)
    : CacheFollower(client, request, std::move(digest), std::move(progress),
                    std::move(upstreamName)) {
  confirm_ = std::move(confirm);
  registryKey_ = std::move(registryKey);
  bool manifest = originTarget.find("/manifests/") != std::string::npos;
  check_ = std::make_unique<JoinCheck>(
      client_.services(), std::move(registry), std::move(originTarget), request, digest_.toString(),
      manifest, [this](JoinVerdict verdict) { onJoinVerdict(std::move(verdict)); });
}

CacheFollower::~CacheFollower() {
  // After this no waker runs; a wake-up already posted finds `alive_` gone and does nothing.
  if (wakerId_ != 0) progress_->unsubscribe(wakerId_);
}

void CacheFollower::subscribe() {
  // The leader calls the waker on its own thread, maybe another worker's: it only posts to this
  // loop, once until the wake-up ran, and the wake-up checks that this follower still exists.
  std::weak_ptr<CacheFollower *> alive = alive_;
  std::weak_ptr<net::LoopMailbox> mailbox = client_.services().mailbox();
  std::shared_ptr<std::atomic<bool>> pending = wakePending_;
  wakerId_ = progress_->subscribe([alive, mailbox, pending] {
    if (pending->exchange(true)) return;
    if (auto box = mailbox.lock()) {
      box->post([alive, pending] {
        pending->store(false);
        if (auto follower = alive.lock()) (*follower)->poll();
      });
    }
  });
}

void CacheFollower::start() {
  subscribe();
  if (check_) {
    log::cache().debug("{} joining the fill of {} once upstream accepts this client",
                       client_.logPrefix(), digest_.toString());
    check_->start(); // poll() waits for its verdict
    return;
  }
  log::cache().debug("{} following the fill of {}", client_.logPrefix(), digest_.toString());
  poll();
}

void CacheFollower::onJoinVerdict(JoinVerdict verdict) {
  // Called from inside the check: free it on the next loop turn.
  client_.services().deleteLater(std::move(check_));
  if (done_) return;
  if (!verdict.accepted) {
    forwardAlone("upstream did not accept this client for the fill (" + verdict.why + ")");
    return;
  }
  log::cache().debug("{} upstream accepted this client for the fill of {}: {}", client_.logPrefix(),
                     digest_.toString(), verdict.why);
  storageLength_ = verdict.storageLength;
  // As for a confirmed cached copy: a pull of many layers asks once.
  if (confirm_ && !confirm_->credential.empty()) {
    client_.services().accessMemo().remember(confirm_->credential, registryKey_,
                                             confirm_->repository);
  }
  poll();
}

void CacheFollower::forwardAlone(const std::string &why) {
  done_ = true;
  log::cache().debug("{} {}; forwarding", client_.logPrefix(), why);
  client_.forwardInstead();
}

void CacheFollower::poll() {
  if (done_ || check_ || reading_) return; // nothing before upstream's yes
  int state = progress_->state.load(std::memory_order_acquire);
  if (!headSent_) {
    if (state == cache::FillProgress::kPending) return; // woken when the head is in
    if (state == cache::FillProgress::kFailed || !openSource()) {
      // Nothing sent yet: this request can still be answered on its own.
      forwardAlone("the fill of " + digest_.toString() + " ended without a blob");
      return;
    }
    if (storageLength_ && *storageLength_ != progress_->size) {
      // The storage upstream sent this client to holds something else than the fill.
      forwardAlone("the storage's length for " + digest_.toString() + " is not the fill's");
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
    auto reader = progress_->readers->openReader(client_.services().completions());
    if (reader.ok()) {
      reader_ = std::move(reader.value());
      return true;
    }
  }
  if (auto *store = client_.services().blobs()) {
    auto reader = store->openReader(digest_, client_.services().completions());
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
    completeRequest(client_.services().metrics(), record_);
    client_.onResponseComplete(true);
    return;
  }
  // More bytes, and the last one (once the leader has verified the digest), come with a wake-up
  // from the leader; a full client output with onClientDrained().
}

bool CacheFollower::onRead(const Result<std::span<const char>> &bytes) {
  if (done_) return false;
  if (!bytes.ok()) {
    fail("reading the fill failed: " + bytes.failure().detail);
    return false;
  }
  // Nothing there yet, although the leader counted it: the next wake-up (more bytes, or the
  // commit) looks again.
  if (bytes->empty()) return false;
  std::size_t n = std::min<std::uint64_t>(bytes->size(), progress_->size - offset_);
  evbuffer_add(client_.clientOutput(), bytes->data(), n);
  offset_ += n;
  record_.bytesSent += n;
  return true;
}

void CacheFollower::fail(const std::string &why) {
  done_ = true;
  record_.note = why;
  completeRequest(client_.services().metrics(), record_);
  client_.abortClient(why);
}

} // namespace regcache::proxy
