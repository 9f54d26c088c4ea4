#include "proxy/cache/starter_reader.h"

#include <algorithm>

#include "base/log.h"
#include "proxy/cache/fill.h"
#include "proxy/handler_services.h"

namespace regcache::proxy {

StarterReader::StarterReader(ClientSide &client, Fill &fill, AccessRecord record, std::string head,
                             bool keepAlive)
    : client_(client), fill_(&fill), digestText_(fill.digestText()), record_(std::move(record)),
      head_(std::move(head)), keepAlive_(keepAlive), size_(fill.size()), held_(evbuffer_new()),
      tail_(evbuffer_new()) {
  fill_->attachStarter(this);
}

StarterReader::~StarterReader() { leaveFill(); }

void StarterReader::leaveFill() {
  if (fill_ == nullptr) return;
  Fill *fill = fill_;
  fill_ = nullptr;
  if (holding_) fill->holdForStarter(false);
  holding_ = false;
  fill->detachStarter();
}

void StarterReader::start() {
  evbuffer_add(client_.clientOutput(), head_.data(), head_.size());
  head_.clear();
}

void StarterReader::onBytes(std::string_view data) {
  if (done_) return;
  received_ += data.size();
  if (behind_) {
    // Read back from the store at this client's pace (sendFromStore); after a store failure the
    // bytes are kept here (upstream reads are held meanwhile, so they stay few).
    if (recovering_) evbuffer_add(tail_.get(), data.data(), data.size());
    return;
  }
  evbuffer *out = client_.clientOutput();
  if (passThrough_) {
    evbuffer_add(out, data.data(), data.size());
    record_.bytesSent += data.size();
    if (client_.clientOutputFull() && !holding_ && fill_ != nullptr) {
      holding_ = true;
      fill_->holdForStarter(true);
    }
    return;
  }
  // Hold the newest bytes back: if the digest turns out wrong, the client must never have
  // received a complete body. What was held goes out at once when the client has kept up.
  sendHeld();
  evbuffer_add(held_.get(), data.data(), data.size());
  record_.bytesSent += data.size();
  if (client_.clientOutputFull()) fallBehind();
}

void StarterReader::sendHeld() {
  std::size_t held = evbuffer_get_length(held_.get());
  if (held == 0) return;
  if (evbuffer_get_length(client_.clientOutput()) != 0) { // queued before: after it, no copy
    evbuffer_add_buffer(client_.clientOutput(), held_.get());
    return;
  }
  const char *bytes = reinterpret_cast<const char *>(evbuffer_pullup(held_.get(), -1));
  client_.sendToClient({}, {bytes, held});
  evbuffer_drain(held_.get(), held);
}

void StarterReader::fallBehind() {
  if (fill_ == nullptr || holding_) return;
  // The fill must not wait for this client: from here it reads the fill back from the store,
  // and upstream streams on at its own pace into the store.
  auto reader = fill_->openReader();
  if (!reader.ok()) {
    holding_ = true; // as without a fill: upstream waits for this client
    fill_->holdForStarter(true);
    return;
  }
  behindReader_ = std::move(reader.value());
  behind_ = true;
  std::uint64_t held = evbuffer_get_length(held_.get());
  offset_ = received_ - held;
  record_.bytesSent -= held;
  evbuffer_drain(held_.get(), held);
}

void StarterReader::onClientDrained() {
  if (behind_) {
    sendFromStore();
    return;
  }
  if (holding_ && fill_ != nullptr) {
    holding_ = false;
    fill_->holdForStarter(false);
  }
}

void StarterReader::onStored() {
  if (behind_) sendFromStore();
}

void StarterReader::sendFromStore() {
  if (!behind_ || readingBack_ || done_) return;
  while (!client_.clientOutputFull()) {
    // Only verified bytes complete the response: before the commit the last byte waits.
    std::uint64_t stored = fill_ != nullptr ? fill_->stored() : 0;
    std::uint64_t limit = recovering_  ? recoverLimit_
                          : committed_ ? size_
                                       : std::min(stored, size_ > 0 ? size_ - 1 : 0);
    if (offset_ >= limit) break; // more comes with the next append, or the commit
    std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(limit - offset_, kReadChunk));
    auto now = behindReader_->tryReadNow(offset_, want);
    if (!now) {
      readingBack_ = true;
      behindReader_->read(offset_, want, [this](Result<std::span<const char>> bytes) {
        readingBack_ = false;
        if (onReadBack(bytes)) sendFromStore();
      });
      return;
    }
    if (!onReadBack(*now)) return;
  }
  if (recovering_ && offset_ >= recoverLimit_) {
    catchUp();
    return;
  }
  if (committed_ && offset_ >= size_) finish();
}

void StarterReader::onStoreFailedBehind(std::unique_ptr<cache::BlobWrite> write,
                                        std::uint64_t stored, std::string tail, bool upstreamDone,
                                        const std::string &why) {
  if (done_) return;
  failedWrite_ = std::move(write);
  recoverLimit_ = stored;
  // The tail starts at byte `stored`. A client that fell behind while the store lagged (it had
  // been sent more live than the store had taken) already has the tail's first bytes: sent again,
  // they would be doubled (e2e_cache_disk_full saw 1 MiB twice).
  std::size_t known = offset_ > stored ? std::min<std::uint64_t>(offset_ - stored, tail.size()) : 0;
  evbuffer_add(tail_.get(), tail.data() + known, tail.size() - known);
  recovering_ = true;
  passThrough_ = true;
  upstreamDone_ = upstreamDone;
  record_.note = "the store failed while the client read back; passed through: " + why;
  if (upstreamDone) {
    fill_ = nullptr; // the fill is over; it frees itself
    holding_ = false;
  } else if (fill_ != nullptr && !holding_) {
    holding_ = true; // upstream waits until this client has caught up
    fill_->holdForStarter(true);
  }
  sendFromStore();
}

void StarterReader::catchUp() {
  recovering_ = false;
  behind_ = false;
  behindReader_.reset();
  failedWrite_.reset(); // its temp file goes
  record_.bytesSent += evbuffer_get_length(tail_.get());
  evbuffer_add_buffer(client_.clientOutput(), tail_.get());
  if (upstreamDone_) {
    finish();
    return;
  }
  if (holding_ && fill_ != nullptr && !client_.clientOutputFull()) {
    holding_ = false;
    fill_->holdForStarter(false);
  }
}

bool StarterReader::onReadBack(const Result<std::span<const char>> &bytes) {
  if (!behind_ || done_) return false;
  if (!bytes.ok() || bytes->empty()) {
    // The write went away (abandoned), or holds less than it said: this client cannot be
    // given the rest. The fill, if it goes on, goes on without it.
    abort("reading the fill back failed: " +
          (bytes.ok() ? std::string("no bytes where the store had them") : bytes.failure().detail));
    return false;
  }
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes->size(), size_ - offset_));
  evbuffer_add(client_.clientOutput(), bytes->data(), n);
  offset_ += n;
  record_.bytesSent += n;
  return true;
}

void StarterReader::onCommitted(const std::string &note) {
  fill_ = nullptr; // the fill is over; it frees itself
  holding_ = false;
  if (done_) return;
  committed_ = true;
  if (!note.empty()) record_.note = record_.note.empty() ? note : record_.note + "; " + note;
  if (behind_) {
    // The client reads the rest back at its own pace, the last bytes too now that they are
    // verified.
    sendFromStore();
    return;
  }
  evbuffer_add_buffer(client_.clientOutput(), held_.get());
  finish();
}

void StarterReader::onFailed(const std::string &why) {
  fill_ = nullptr;
  holding_ = false;
  if (done_) return;
  abort(why);
}

void StarterReader::onStoreAbandoned(const std::string &why) {
  if (done_) return;
  if (behind_) {
    // This client is behind, reading a write that is gone: it cannot be given the rest.
    leaveFill();
    abort("fill abandoned while the client read it back: " + why);
    return;
  }
  passThrough_ = true;
  evbuffer_add_buffer(client_.clientOutput(), held_.get());
}

void StarterReader::onUncachedEnd() {
  fill_ = nullptr;
  holding_ = false;
  if (done_) return;
  if (recovering_) {
    upstreamDone_ = true; // it finishes once it caught up (catchUp)
    return;
  }
  if (behind_) {
    abort("the fill could not be stored while the client read it back");
    return;
  }
  evbuffer_add_buffer(client_.clientOutput(), held_.get());
  finish();
}

void StarterReader::finish() {
  done_ = true;
  behindReader_.reset();
  completeRequest(client_.services().metrics(), record_);
  client_.onResponseComplete(keepAlive_);
}

void StarterReader::abort(const std::string &why) {
  done_ = true;
  behindReader_.reset();
  record_.note = why;
  completeRequest(client_.services().metrics(), record_);
  client_.abortClient(why);
}

void StarterReader::onClientClosed() {
  behindReader_.reset(); // no completion of it runs after this
  readingBack_ = false;
  leaveFill(); // the fill goes on without this client
  if (done_) return;
  done_ = true;
  record_.note = record_.note.empty() ? "client closed; fill continued"
                                      : record_.note + "; client closed; fill continued";
  completeRequest(client_.services().metrics(), record_);
}

} // namespace regcache::proxy
