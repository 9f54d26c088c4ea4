#pragma once
// The tiered store's write (internal to cache/tiered_blob_store.cc): the local write its owner
// streams from and waits for, and an upload to the remote tier of the same bytes, completed
// after the local commit and never waited for. The upload is a BlobCopy that reads the local
// write's file when the remote can (the S3 store: no second spool, no second SHA-256, no copy of
// each chunk), else a BlobWrite handed a copy of every append.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cache/blob_store.h"
#include "cache/completion_guard.h"
#include "cache/tier_counters.h"

namespace regcache::cache {

// The uploads in flight per digest, so that a remove waits for them: otherwise an upload that
// completes just after a remove would bring the blob back. Any thread.
class UploadsInFlight {
public:
  void started(const std::string &hex);
  // Runs every `then` waiting on `hex` once its last upload ended.
  void ended(const std::string &hex);
  // Runs `then` now if no upload of `hex` is in flight, else when the last one ends.
  void whenNone(const std::string &hex, std::function<void()> then);

private:
  std::mutex mutex_;
  std::map<std::string, std::pair<int, std::vector<std::function<void()>>>> uploads_;
};

// One upload to the remote tier. Its write or copy was made on InlineCompletions, so its
// completions run on the remote store's threads: whatever they touch is atomic. Kept alive by
// the commit's completion once its TieredBlobWrite let go of it.
struct RemoteUpload {
  std::unique_ptr<BlobWrite> write; // fed copies of the appends; or else
  std::unique_ptr<BlobCopy> copy;   // reading the local write's bytes
  Digest digest;
  std::shared_ptr<TierCounters> counters;
  std::atomic<std::uint64_t> pending{0}; // bytes handed to write->append, not yet stored
  std::atomic<bool> failed{false};
  std::function<void(const Digest &)> markUsed; // when it completes (may be empty)
  std::shared_ptr<UploadsInFlight> inFlight;    // told when this upload ends, however it ends
  ~RemoteUpload() {
    write.reset(); // aborted if it never completed
    copy.reset();
    if (inFlight) inFlight->ended(digest.hex);
  }
};

class TieredBlobWrite final : public BlobWrite {
public:
  // `upload` may be null (the remote could not take a write): then it is the local write alone.
  TieredBlobWrite(std::unique_ptr<BlobWrite> local, std::shared_ptr<RemoteUpload> upload,
                  CompletionQueue &completions);
  ~TieredBlobWrite() override;
  void append(std::string bytes, Done done) override;
  void commit(std::optional<std::uint64_t> expectedSize, Done done) override;
  std::uint64_t appended() const override { return local_->appended(); }
  Result<std::unique_ptr<BlobReader>> openReader(CompletionQueue &completions) override {
    return local_->openReader(completions);
  }
  std::shared_ptr<BlobReaderSource> readerSource() override { return local_->readerSource(); }

private:
  // Gives up the upload (too slow, failed): aborted, counted, logged.
  void dropUpload(const std::string &why);
  void onLocalCommit(Result<void> committed, std::optional<std::uint64_t> expectedSize, Done done);

  std::unique_ptr<BlobWrite> local_;
  std::shared_ptr<RemoteUpload> upload_;
  std::uint64_t toldCopy_ = 0; // bytes upload_->copy was told the local write holds
  CompletionGuard guard_;
};

} // namespace regcache::cache
