#include "proxy/cache/fill.h"

#include <algorithm>

#include "base/log.h"
#include "cache/index_writer.h"
#include "proxy/cache/public_probe.h"
#include "proxy/cache/starter_reader.h"
#include "proxy/handler_services.h"

namespace regcache::proxy {

Fill::FetchEnd::FetchEnd(Fill &fill, HandlerServices &services, const ClientSide &starter)
    : fill_(fill), services_(services), prefix_(starter.logPrefix()), peer_(starter.peer()),
      user_(starter.user()), sink_(evbuffer_new()) {}

evbuffer *Fill::FetchEnd::clientOutput() {
  // Whatever the fetch wrote since the last call is dropped: readers read the fill, not this.
  evbuffer_drain(sink_.get(), evbuffer_get_length(sink_.get()));
  return sink_.get();
}

void Fill::FetchEnd::replaceHandler(std::unique_ptr<RequestHandler> next) {
  services_.deleteLater(std::move(next));
  fill_.onFetchFailed("the fetch tried to hand its response on");
}

std::unique_ptr<RequestHandler> Fill::FetchEnd::handOver(std::unique_ptr<RequestHandler> next) {
  services_.deleteLater(std::move(next));
  fill_.onFetchFailed("the fetch tried to hand its response on");
  return nullptr;
}

Fill::Fill(HandlerServices &services, Start start, const ClientSide &starter)
    : services_(services), fetchEnd_(*this, services, starter), what_(std::move(start.what)),
      digestText_(what_.digest.toString()), registry_(std::move(start.registry)),
      writer_(std::move(start.writer)), reservation_(std::move(start.reservation)),
      hold_(std::move(start.hold)), size_(start.size), contentType_(std::move(start.contentType)) {
  trickleTimer_.reset(evtimer_new(services_.base(), &Fill::onTrickleTimer, this));
  if (what_.progress) {
    what_.progress->size = size_;
    what_.progress->contentType = contentType_;
    what_.progress->readers = writer_->readerSource();
    what_.progress->publishState(cache::FillProgress::kStreaming);
  }
}

Fill::~Fill() { publishEnd(cache::FillProgress::kFailed); }

void Fill::adoptFetch(std::unique_ptr<RequestHandler> owner, Exchange &fetch) {
  fetchOwner_ = std::move(owner);
  fetch_ = &fetch;
}

void Fill::publishEnd(cache::FillProgress::State state) {
  if (!what_.progress || what_.progress->terminal()) return;
  if (cache::FillRegistry *fills = services_.fills()) {
    fills->finish(what_.fillKey, what_.progress, state);
  } else {
    what_.progress->publishState(state);
  }
}

void Fill::end() {
  if (ended_) return;
  ended_ = true;
  if (starter_ != nullptr) starter_ = nullptr;
  services_.deleteLater(std::move(fetchOwner_));
  fetch_ = nullptr;
  services_.endFill(this);
}

void Fill::detachStarter() {
  starter_ = nullptr;
  if (ended_) return;
  if (passThrough_) {
    // Nothing is stored and nobody reads: the fetch has no more use.
    log::cache().debug("{} the client of an uncached pass-through left", fetchEnd_.logPrefix());
    end();
    return;
  }
  if (fetch_ != nullptr) fetch_->holdUpstream(net::ReadGate::kSinkFull, false);
  log::cache().debug("{} the client that started the fill of {} left; the fill goes on",
                     fetchEnd_.logPrefix(), digestText_);
}

void Fill::holdForStarter(bool held) {
  if (fetch_ != nullptr) fetch_->holdUpstream(net::ReadGate::kSinkFull, held);
}

Result<std::unique_ptr<cache::BlobReader>> Fill::openReader() {
  if (!writer_) return Failure{Error::kIo, "the fill has no write any more"};
  return writer_->readerSource()->openReader(services_.completions());
}

void Fill::append(std::string_view data) {
  if (ended_) return;
  if (starter_ != nullptr) starter_->onBytes(data);
  if (passThrough_ || !writer_) return;
  pending_.append(data);
  if (pending_.size() >= kAppendChunk) {
    flush();
  } else if (evtimer_pending(trickleTimer_.get(), nullptr) == 0) {
    timeval after{0, kTrickleFlushMs * 1000};
    evtimer_add(trickleTimer_.get(), &after);
  }
}

void Fill::onTrickleTimer(evutil_socket_t, short, void *fill) {
  static_cast<Fill *>(fill)->flush();
}

void Fill::flush() {
  evtimer_del(trickleTimer_.get());
  if (pending_.empty() || !writer_) return;
  std::size_t size = pending_.size();
  handed_ += size;
  queued_ += size;
  std::string bytes;
  bytes.reserve(kAppendChunk + 64 * 1024);
  bytes.swap(pending_);
  unstored_.push_back(Unstored{size, starter_ != nullptr ? bytes : std::string()});
  // The write may outlive this fill (a starter reading back keeps a failed one): its
  // completions check the fill is still there.
  writer_->append(std::move(bytes),
                  [this, size, alive = std::weak_ptr<bool>(alive_)](Result<void> stored) {
                    if (alive.lock()) onAppended(std::move(stored), size);
                  });
  if (queued_ > kQueueHigh && fetch_ != nullptr) {
    fetch_->holdUpstream(net::ReadGate::kStoreBusy, true);
  }
}

void Fill::onAppended(Result<void> stored, std::size_t size) {
  queued_ -= std::min<std::uint64_t>(queued_, size);
  if (!writer_) return; // the store failed before: this fill passes through now
  if (stored.ok() && !unstored_.empty()) unstored_.pop_front();
  if (committing_) return; // a failed append fails the commit too, which reports it
  if (!stored.ok()) {
    abandonStore(stored.failure().detail);
    return;
  }
  if (what_.progress) what_.progress->publishWritten(writer_->appended());
  if (starter_ != nullptr) starter_->onStored(); // it may be reading back, waiting for these
  if (queued_ <= kQueueHigh / 2 && fetch_ != nullptr) {
    fetch_->holdUpstream(net::ReadGate::kStoreBusy, false);
  }
}

void Fill::abandonStore(const std::string &why) {
  log::cache().warn("{} fill of {} abandoned, passing through: {}", fetchEnd_.logPrefix(),
                    digestText_, why);
  std::unique_ptr<cache::BlobWrite> failed = std::move(writer_);
  hold_.release();
  reservation_.release();
  publishEnd(cache::FillProgress::kFailed);
  if (fetch_ != nullptr) fetch_->holdUpstream(net::ReadGate::kStoreBusy, false);
  StarterReader *starter = starter_;
  passThrough_ = true;
  if (starter != nullptr && starter->isBehind()) {
    // It reads back from the store: it gets what the store took from the failed write (kept
    // until it caught up), the rest from memory, then the rest of the body passed through.
    std::uint64_t stored = failed->appended();
    if (std::optional<std::string> tail = takeUnstoredTail()) {
      starter->onStoreFailedBehind(std::move(failed), stored, std::move(*tail), false, why);
      return;
    }
  }
  failed.reset(); // removes the temp file
  pending_.clear();
  unstored_.clear();
  if (starter == nullptr) {
    end();
    return;
  }
  // Leaves starter_ set only if the starter reads live and takes the rest as a pass-through.
  starter->onStoreAbandoned(why);
  if (starter_ == nullptr && !ended_) end();
}

std::optional<std::string> Fill::takeUnstoredTail() {
  std::string tail;
  for (const Unstored &append : unstored_) {
    if (append.copy.size() != append.size) return std::nullopt;
    tail += append.copy;
  }
  tail += pending_;
  pending_.clear();
  unstored_.clear();
  return tail;
}

void Fill::onFetchComplete() {
  if (ended_) return;
  if (passThrough_ || !writer_) {
    if (StarterReader *starter = starter_) {
      starter_ = nullptr;
      starter->onUncachedEnd();
    }
    end();
    return;
  }
  flush();
  committing_ = true;
  writer_->commit(handed_, [this](const Result<void> &committed) { onCommitted(committed); });
}

void Fill::onFetchFailed(const std::string &why) {
  if (ended_) return;
  writer_.reset(); // removes the temp file
  hold_.release();
  reservation_.release();
  publishEnd(cache::FillProgress::kFailed);
  if (StarterReader *starter = starter_) {
    starter_ = nullptr;
    starter->onFailed(why);
  }
  end();
}

void Fill::onCommitted(const Result<void> &committed) {
  committing_ = false;
  std::unique_ptr<cache::BlobWrite> write = std::move(writer_);
  hold_.release();
  reservation_.release(); // committed bytes are counted by the index from here on
  if (!committed.ok() && committed.failure().code == Error::kUpstream) {
    // Wrong bytes: keep nothing, and cut every reader off before the held-back tail.
    services_.metrics().countUpstreamError(UpstreamError::kDigestMismatch);
    std::string why =
        "upstream sent wrong bytes for " + digestText_ + ": " + committed.failure().detail;
    log::cache().warn("{} {}", fetchEnd_.logPrefix(), why);
    onFetchFailed(why);
    return;
  }
  if (!committed.ok()) {
    log::cache().warn("{} cannot store {}: {}; served without caching", fetchEnd_.logPrefix(),
                      digestText_, committed.failure().detail);
    publishEnd(cache::FillProgress::kFailed);
    if (StarterReader *starter = starter_) {
      starter_ = nullptr;
      std::uint64_t stored = write->appended();
      std::optional<std::string> tail;
      if (starter->isBehind()) tail = takeUnstoredTail();
      if (tail) {
        starter->onStoreFailedBehind(std::move(write), stored, std::move(*tail), true,
                                     committed.failure().detail);
      } else {
        write.reset();
        starter->onUncachedEnd();
      }
    }
    end();
    return;
  }
  write.reset();
  auto now = std::chrono::system_clock::now();
  cache::BlobRecord blob{digestText_, handed_, contentType_, what_.manifest, now, now, 0};
  if (!what_.credential.empty()) {
    // Upstream just served this client: it needs no HEAD to be served this repository again.
    services_.accessMemo().remember(what_.credential, what_.registry, what_.repository);
  }
  std::optional<cache::TagRecord> tag;
  if (what_.tag) {
    tag = cache::TagRecord{what_.registry, what_.repository, *what_.tag, what_.acceptKey,
                           blob.digest,    contentType_,     now};
  }
  // The row must be in SQLite before a response completes (a crash then loses no committed
  // blob), but the loop does not wait for it: the writer posts its answer back.
  std::weak_ptr<bool> alive = alive_;
  std::shared_ptr<net::LoopMailbox> mailbox = services_.mailbox();
  services_.indexWriter()->putBlob(
      blob, cache::BlobSource{what_.registry, what_.repository, what_.credential.empty()},
      std::move(tag), [this, alive, mailbox, blob](Result<void> indexed) {
        mailbox->post([this, alive, blob, indexed = std::move(indexed)]() mutable {
          if (alive.lock()) onIndexed(std::move(indexed), blob);
        });
      });
}

void Fill::onIndexed(Result<void> indexed, const cache::BlobRecord &blob) {
  std::string note;
  if (!indexed.ok()) {
    log::cache().warn("{} cannot index {}: {}", fetchEnd_.logPrefix(), blob.digest,
                      indexed.failure().detail);
  } else {
    log::cache().debug("{} cached {} ({} bytes)", fetchEnd_.logPrefix(), blob.digest, blob.size);
    if (!what_.credential.empty()) {
      noteCredentialedFetch(services_, registry_, what_.registry, what_.repository, blob);
    }
    note = "cache MISS, stored";
  }
  // The bytes are verified and stored either way: readers may finish from the store (an
  // unindexed file is removed at the next start-up).
  publishEnd(cache::FillProgress::kCommitted);
  if (StarterReader *starter = starter_) {
    starter_ = nullptr;
    starter->onCommitted(note);
  }
  end();
}

} // namespace regcache::proxy
