#include "cache/tiered_blob_write.h"

#include <limits>
#include <string>

#include "base/log.h"

namespace regcache::cache {
namespace {
// Bytes an upload may have queued before it is dropped: a remote this far behind the local disk
// would hold a fill's bytes in memory without bound. Generous, so a bucket that merely pauses
// (a multipart part being sent) keeps up.
constexpr std::uint64_t kMaxUploadBacklog = 256u << 20;
// What a commit that must fail is told: no blob has this many bytes, so the remote discards the
// upload (an S3 store aborts the multipart), and its completion says when it is gone.
constexpr std::uint64_t kNoSuchSize = std::numeric_limits<std::uint64_t>::max();
} // namespace

void UploadsInFlight::started(const std::string &hex) {
  std::lock_guard lock(mutex_);
  ++uploads_[hex].first;
}

void UploadsInFlight::ended(const std::string &hex) {
  std::vector<std::function<void()>> waiting;
  {
    std::lock_guard lock(mutex_);
    auto found = uploads_.find(hex);
    if (found == uploads_.end() || --found->second.first > 0) return;
    waiting = std::move(found->second.second);
    uploads_.erase(found);
  }
  for (auto &then : waiting)
    then();
}

void UploadsInFlight::whenNone(const std::string &hex, std::function<void()> then) {
  {
    std::lock_guard lock(mutex_);
    auto found = uploads_.find(hex);
    if (found != uploads_.end()) {
      found->second.second.push_back(std::move(then));
      return;
    }
  }
  then();
}

TieredBlobWrite::TieredBlobWrite(std::unique_ptr<BlobWrite> local,
                                 std::shared_ptr<RemoteUpload> upload, CompletionQueue &completions)
    : local_(std::move(local)), upload_(std::move(upload)), guard_(completions) {}

TieredBlobWrite::~TieredBlobWrite() {
  // An unfinished write: the upload goes with it (destroying it aborts it, leaving nothing).
  if (upload_) upload_->counters->add(upload_->counters->uploadsAborted);
}

void TieredBlobWrite::dropUpload(const std::string &why) {
  if (!upload_) return;
  log::cache().warn("bucket upload of {} abandoned ({}); the fill goes on locally",
                    upload_->digest.toString(), why);
  upload_->counters->add(upload_->counters->uploadsAborted);
  upload_->counters->add(upload_->counters->fallbacks);
  upload_.reset();
}

void TieredBlobWrite::append(std::string bytes, Done done) {
  if (upload_ && upload_->copy) {
    // The copy reads what the local write stored: nothing to hand it but the new length. The
    // local completion runs only while local_, and so this write, lives.
    local_->append(std::move(bytes), [this, done = std::move(done)](Result<void> stored) {
      if (stored.ok() && upload_ && upload_->copy) {
        std::uint64_t now = local_->appended();
        upload_->counters->add(upload_->counters->bytesWritten, now - toldCopy_);
        toldCopy_ = now;
        upload_->copy->grew(now);
      }
      done(std::move(stored));
    });
    return;
  }
  if (upload_ && upload_->failed.load()) dropUpload("an upload append failed");
  if (upload_ && upload_->pending.load() + bytes.size() > kMaxUploadBacklog) {
    dropUpload("the bucket is too slow: " + std::to_string(upload_->pending.load()) +
               " bytes queued");
  }
  if (upload_) {
    std::uint64_t n = bytes.size();
    upload_->pending += n;
    upload_->counters->add(upload_->counters->bytesWritten, n);
    // A weak reference: an upload dropped meanwhile needs no bookkeeping.
    std::weak_ptr<RemoteUpload> weak = upload_;
    upload_->write->append(bytes, [weak, n](Result<void> stored) {
      auto upload = weak.lock();
      if (!upload) return;
      upload->pending -= n;
      if (!stored.ok() && !upload->failed.exchange(true)) {
        upload->counters->add(upload->counters->errors);
        log::cache().warn("bucket upload of {} failed: {}", upload->digest.toString(),
                          stored.failure().detail);
      }
    });
  }
  local_->append(std::move(bytes), std::move(done));
}

void TieredBlobWrite::commit(std::optional<std::uint64_t> expectedSize, Done done) {
  // The local commit's completion runs only while local_, and so this write, lives.
  local_->commit(expectedSize,
                 [this, expectedSize, done = std::move(done)](Result<void> committed) mutable {
                   onLocalCommit(std::move(committed), expectedSize, std::move(done));
                 });
}

void TieredBlobWrite::onLocalCommit(Result<void> committed,
                                    std::optional<std::uint64_t> expectedSize, Done done) {
  if (upload_ && upload_->failed.load()) dropUpload("an upload append failed");
  if (!upload_) {
    done(std::move(committed));
    return;
  }
  std::shared_ptr<RemoteUpload> upload = std::move(upload_);
  if (!committed.ok()) {
    // Nothing is kept anywhere: the upload is discarded before the owner hears of the failure,
    // so a caller that looks right after finds no leftover of it in either tier.
    upload->counters->add(upload->counters->uploadsAborted);
    if (upload->copy) { // never completed, so nothing is visible; its destruction aborts it
      upload.reset();
      done(std::move(committed));
      return;
    }
    upload->write->commit(kNoSuchSize, [upload, poster = guard_.poster(), committed,
                                        done = std::move(done)](Result<void>) mutable {
      upload->write.reset();
      poster.post([committed = std::move(committed), done = std::move(done)]() mutable {
        done(std::move(committed));
      });
    });
    return;
  }
  // The local tier has the verified blob: the fill completes now, and the upload is completed
  // behind it, never waited for. A copy trusts the local commit's check of these very bytes; a
  // write verifies the digest again before the object becomes visible. The completion keeps
  // the upload alive until it ran.
  upload->counters->add(upload->counters->requests);
  auto onUploaded = [upload](Result<void> uploaded) {
    TierCounters &counters = *upload->counters;
    if (uploaded.ok()) {
      counters.add(counters.uploadsCompleted);
      if (upload->markUsed) upload->markUsed(upload->digest);
      log::cache().debug("{} uploaded to the bucket", upload->digest.toString());
    } else {
      counters.add(counters.uploadsAborted);
      counters.add(counters.errors);
      log::cache().warn("bucket upload of {} not completed: {}", upload->digest.toString(),
                        uploaded.failure().detail);
    }
    upload->write.reset(); // a completion may destroy its own handle
    upload->copy.reset();
  };
  if (upload->copy) {
    upload->copy->commitVerified(local_->appended(), std::move(onUploaded));
  } else {
    upload->write->commit(expectedSize, std::move(onUploaded));
  }
  done(std::move(committed));
}

} // namespace regcache::cache
