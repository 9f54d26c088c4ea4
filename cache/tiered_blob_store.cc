#include "cache/tiered_blob_store.h"

#include <algorithm>
#include <string>

#include "base/log.h"
#include "cache/blob_store_sync.h"
#include "cache/tiered_blob_write.h"
#include "cache/verifying_reader.h"

namespace regcache::cache {
namespace {

// A remote failure other than "not there": counted, and the caller goes on without the remote.
void noteRemoteFailure(TierCounters &counters, const Failure &failure, const char *what) {
  if (failure.code == Error::kNotFound) return;
  counters.add(counters.errors);
  counters.add(counters.fallbacks);
  log::cache().warn("bucket {} failed, going on without it: {}", what, failure.detail);
}

} // namespace

TieredBlobStore::TieredBlobStore(std::shared_ptr<BlobStore> local,
                                 std::shared_ptr<BlobStore> remote,
                                 std::function<void(const Digest &)> markUsed)
    : local_(std::move(local)), remote_(std::move(remote)), markUsed_(std::move(markUsed)),
      uploads_(std::make_shared<UploadsInFlight>()) {}

TieredBlobStore::~TieredBlobStore() = default;

Result<std::unique_ptr<BlobWrite>> TieredBlobStore::begin(const Digest &digest,
                                                          CompletionQueue &completions) {
  auto local = local_->begin(digest, completions);
  if (!local.ok()) return local.failure();
  std::shared_ptr<RemoteUpload> upload;
  counters_->add(counters_->requests);
  // The upload's completions run on the remote's own threads: it may outlive this write (its
  // commit follows the local one) and so its owner's queue.
  // A remote that can copy from the local write's file (the S3 store) sends those bytes, once
  // the local commit verified them; any other is handed a copy of every append.
  std::shared_ptr<const StoredBytes> localBytes = local.value()->storedBytes();
  std::unique_ptr<BlobCopy> copy;
  if (localBytes) {
    auto made = remote_->beginCopy(digest, localBytes, InlineCompletions::instance());
    if (made.ok()) copy = std::move(made.value());
  }
  Result<std::unique_ptr<BlobWrite>> remote = std::unique_ptr<BlobWrite>();
  if (!copy) remote = remote_->begin(digest, InlineCompletions::instance());
  if (remote.ok()) {
    upload = std::make_shared<RemoteUpload>();
    upload->write = std::move(remote.value());
    upload->copy = std::move(copy);
    upload->digest = digest;
    upload->counters = counters_;
    upload->markUsed = markUsed_;
    upload->inFlight = uploads_;
    uploads_->started(digest.hex);
  } else {
    counters_->add(counters_->errors);
    counters_->add(counters_->fallbacks);
    log::cache().warn("bucket cannot take {} ({}); stored locally only", digest.toString(),
                      remote.failure().detail);
  }
  return std::unique_ptr<BlobWrite>(
      new TieredBlobWrite(std::move(local.value()), std::move(upload), completions));
}

Result<std::unique_ptr<BlobReader>> TieredBlobStore::openReader(const Digest &digest,
                                                                CompletionQueue &completions) {
  auto local = local_->openReader(digest, completions);
  if (local.ok()) return local; // a local hit never touches the bucket
  return openVerified(digest, std::nullopt, completions, {});
}

Result<std::unique_ptr<BlobReader>>
TieredBlobStore::openRemoteReader(const Digest &digest, std::uint64_t size,
                                  CompletionQueue &completions, std::function<void()> onWarmed) {
  return openVerified(digest, size, completions, std::move(onWarmed));
}

Result<std::unique_ptr<BlobReader>> TieredBlobStore::openVerified(const Digest &digest,
                                                                  std::optional<std::uint64_t> size,
                                                                  CompletionQueue &completions,
                                                                  std::function<void()> onWarmed) {
  counters_->add(counters_->requests);
  auto inner = remote_->openReader(digest, completions);
  if (!inner.ok()) {
    noteRemoteFailure(*counters_, inner.failure(), "read");
    return inner.failure();
  }
  // Warming: the same bytes into the local tier as they stream. A local tier that cannot take
  // a write now only means this read is not kept.
  auto warm = local_->begin(digest, completions);
  std::unique_ptr<BlobWrite> warmWrite = warm.ok() ? std::move(warm.value()) : nullptr;
  return std::unique_ptr<BlobReader>(new VerifyingReader(
      *remote_, digest, size, std::move(inner.value()), std::move(warmWrite), completions,
      *counters_, std::move(onWarmed), [markUsed = markUsed_, digest] {
        if (markUsed) markUsed(digest);
      }));
}

void TieredBlobStore::stat(const Digest &digest, CompletionQueue &completions,
                           Done<BlobInfo> done) {
  local_->stat(digest, InlineCompletions::instance(),
               [this, digest, &completions, done = std::move(done)](Result<BlobInfo> info) mutable {
                 if (info.ok()) {
                   completions.post(
                       [info = std::move(info), done = std::move(done)] { done(info); });
                   return;
                 }
                 statRemote(digest, completions, std::move(done));
               });
}

void TieredBlobStore::statRemote(const Digest &digest, CompletionQueue &completions,
                                 Done<BlobInfo> done) {
  counters_->add(counters_->requests);
  remote_->stat(
      digest, InlineCompletions::instance(),
      [counters = counters_, &completions, done = std::move(done)](Result<BlobInfo> info) mutable {
        if (!info.ok()) noteRemoteFailure(*counters, info.failure(), "stat");
        completions.post([info = std::move(info), done = std::move(done)] { done(info); });
      });
}

void TieredBlobStore::remove(const Digest &digest, CompletionQueue &completions, Done<void> done) {
  local_->remove(
      digest, InlineCompletions::instance(),
      [this, digest, &completions, done = std::move(done)](Result<void> local) mutable {
        counters_->add(counters_->requests);
        // After this host's uploads of it end: one completing later would bring the
        // blob back into the bucket.
        uploads_->whenNone(
            digest.hex, [this, digest, local, &completions, done = std::move(done)]() mutable {
              remote_->remove(digest, InlineCompletions::instance(),
                              [counters = counters_, local, &completions,
                               done = std::move(done)](Result<void> remote) mutable {
                                if (!remote.ok()) {
                                  noteRemoteFailure(*counters, remote.failure(), "remove");
                                }
                                Result<void> both = !local.ok() ? local : remote;
                                completions.post([both, done = std::move(done)] { done(both); });
                              });
            });
      });
}

void TieredBlobStore::list(CompletionQueue &completions, Done<std::vector<BlobInfo>> done) {
  local_->list(InlineCompletions::instance(), [this, &completions, done = std::move(done)](
                                                  Result<std::vector<BlobInfo>> local) mutable {
    counters_->add(counters_->requests);
    remote_->list(InlineCompletions::instance(), [counters = counters_, local = std::move(local),
                                                  &completions, done = std::move(done)](
                                                     Result<std::vector<BlobInfo>> remote) mutable {
      if (!local.ok()) {
        completions.post([local = std::move(local), done = std::move(done)] { done(local); });
        return;
      }
      std::vector<BlobInfo> all = std::move(local.value());
      if (remote.ok()) {
        for (auto &blob : remote.value()) {
          bool known = std::any_of(all.begin(), all.end(),
                                   [&](const BlobInfo &b) { return b.digest == blob.digest; });
          if (!known) all.push_back(std::move(blob));
        }
      } else {
        noteRemoteFailure(*counters, remote.failure(), "list");
      }
      completions.post(
          [all = std::move(all), done = std::move(done)]() mutable { done(std::move(all)); });
    });
  });
}

void TieredBlobStore::removeLeftovers(CompletionQueue &completions, Done<std::size_t> done) {
  // The local tier alone: the bucket's unfinished uploads may be other hosts' fills in flight.
  // Abandoned ones are removed by age (`regcache store gc`), never at one host's start-up.
  local_->removeLeftovers(completions, std::move(done));
}

} // namespace regcache::cache
