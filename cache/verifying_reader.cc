#include "cache/verifying_reader.h"

#include <string>
#include <utility>

#include "base/log.h"
#include "cache/blob_store_sync.h"

namespace regcache::cache {
namespace {
// Bytes the warm write may have outstanding before the reader waits for the local disk: enough
// to keep both the bucket and the disk busy, small enough to bound memory per reader.
constexpr std::uint64_t kMaxWarmBacklog = 8u << 20;
} // namespace

VerifyingReader::VerifyingReader(BlobStore &remote, Digest digest,
                                 std::optional<std::uint64_t> size,
                                 std::unique_ptr<BlobReader> inner, std::unique_ptr<BlobWrite> warm,
                                 CompletionQueue &completions, TierCounters &counters,
                                 std::function<void()> onWarmed, std::function<void()> onVerified)
    : remote_(remote), digest_(std::move(digest)), size_(size), inner_(std::move(inner)),
      warm_(std::move(warm)), counters_(counters), onWarmed_(std::move(onWarmed)),
      onVerified_(std::move(onVerified)), guard_(completions) {}

// The warm write, if unfinished, is destroyed with the reader: nothing half-written is kept.
VerifyingReader::~VerifyingReader() = default;

void VerifyingReader::read(std::uint64_t offset, std::size_t max, ReadDone done) {
  if (failed_) {
    guard_.post([failure = *failed_, done = std::move(done)] { done(failure); });
    return;
  }
  if (offset != hashed_) {
    guard_.post([done = std::move(done)] {
      done(regcache::fail(Error::kIo, "a bucket read goes in order, from the first byte"));
    });
    return;
  }
  if (size_ && hashed_ == *size_) { // everything verified and handed out already
    guard_.post([done = std::move(done)] { done(std::span<const char>()); });
    return;
  }
  if (size_) {
    readInner(max, std::move(done));
    return;
  }
  // The size decides which chunk is the last: learn it first. Asked on the remote's threads
  // (InlineCompletions), answered on the owner's queue only while this reader lives.
  counters_.add(counters_.requests);
  remote_.stat(
      digest_, InlineCompletions::instance(),
      [this, poster = guard_.poster(), max, done = std::move(done)](Result<BlobInfo> info) mutable {
        poster.post([this, info = std::move(info), max, done = std::move(done)]() mutable {
          if (!info.ok()) {
            if (info.failure().code != Error::kNotFound) counters_.add(counters_.errors);
            return fail(info.failure(), std::move(done));
          }
          size_ = info->size;
          read(hashed_, max, std::move(done));
        });
      });
}

void VerifyingReader::readInner(std::size_t max, ReadDone done) {
  if (warm_ && warmPending_ > kMaxWarmBacklog) {
    // The local disk is behind: go on once it caught up (its append completion resumes this).
    resume_ = [this, max, done = std::move(done)]() mutable { readInner(max, std::move(done)); };
    return;
  }
  std::uint64_t left = *size_ - hashed_;
  std::size_t want = left < max ? static_cast<std::size_t>(left) : max;
  inner_->read(hashed_, want, [this, done = std::move(done)](Result<std::span<const char>> bytes) {
    onInner(std::move(bytes), std::move(done));
  });
}

void VerifyingReader::onInner(Result<std::span<const char>> bytes, ReadDone done) {
  if (!bytes.ok()) {
    if (bytes.failure().code != Error::kNotFound) counters_.add(counters_.errors);
    return fail(bytes.failure(), std::move(done));
  }
  std::span<const char> got = *bytes;
  if (got.empty()) {
    return fail(regcache::fail(Error::kNotFound,
                               "the bucket's " + digest_.toString() + " is shorter than its size"),
                std::move(done));
  }
  if (hashed_ + got.size() > *size_) got = got.first(static_cast<std::size_t>(*size_ - hashed_));
  hasher_.update(std::string_view(got.data(), got.size()));
  hashed_ += got.size();
  counters_.add(counters_.bytesRead, got.size());
  warmAppend(got);
  if (hashed_ < *size_) {
    done(got); // not the last byte: it may go out now
    return;
  }
  finish(got, std::move(done));
}

void VerifyingReader::finish(std::span<const char> last, ReadDone done) {
  std::string actual = hasher_.finishHex();
  if (actual != digest_.hex) {
    counters_.add(counters_.mismatches);
    log::cache().error("BUCKET OBJECT CORRUPT: {} read back as sha256:{} ({} bytes); the client is "
                       "cut off and the object removed from the bucket",
                       digest_.toString(), actual, hashed_);
    counters_.add(counters_.requests);
    TierCounters *counters = &counters_;
    remote_.remove(digest_, InlineCompletions::instance(),
                   [counters, digest = digest_](Result<void> removed) {
                     if (removed.ok()) return;
                     counters->add(counters->errors);
                     log::cache().error("cannot remove the corrupt bucket object {}: {}",
                                        digest.toString(), removed.failure().detail);
                   });
    dropWarm("its bytes did not verify");
    return fail(regcache::fail(Error::kUpstream,
                               "the bucket's " + digest_.toString() + " does not match its digest"),
                std::move(done));
  }
  counters_.add(counters_.hits);
  if (onVerified_) std::exchange(onVerified_, nullptr)();
  if (!warm_) {
    done(last);
    return;
  }
  // The local tier gets the blob before its last bytes go out: whoever saw the whole body may
  // count on finding it there (the proxy then indexes it).
  warm_->commit(*size_, [this, last, done = std::move(done)](Result<void> committed) {
    if (!committed.ok()) {
      log::cache().warn("{} verified from the bucket but not kept locally: {}", digest_.toString(),
                        committed.failure().detail);
    }
    warm_.reset();
    if (committed.ok() && onWarmed_) std::exchange(onWarmed_, nullptr)();
    done(last); // the inner reader's span is still valid: no read was asked of it since
  });
}

void VerifyingReader::fail(Failure failure, ReadDone done) {
  failed_ = failure;
  dropWarm(failure.detail);
  done(std::move(failure));
}

void VerifyingReader::warmAppend(std::span<const char> bytes) {
  if (!warm_) return;
  warmPending_ += bytes.size();
  std::uint64_t n = bytes.size();
  // Completions of warm_ run only while it lives, which is while this reader lives.
  warm_->append(std::string(bytes.data(), bytes.size()), [this, n](Result<void> stored) {
    warmPending_ -= n;
    if (!stored.ok()) dropWarm(stored.failure().detail);
    if (resume_ && (!warm_ || warmPending_ <= kMaxWarmBacklog)) {
      auto resume = std::move(*resume_);
      resume_.reset();
      resume();
    }
  });
}

void VerifyingReader::dropWarm(const std::string &why) {
  if (!warm_) return;
  log::cache().debug("{} not warmed into the local tier: {}", digest_.toString(), why);
  warm_.reset(); // aborted: the local tier keeps nothing of it
  warmPending_ = 0;
}

} // namespace regcache::cache
