#pragma once
// The tiered store's write (internal to cache/tiered_blob_store.cc): the local write its owner
// streams from and waits for, and an upload to the remote tier fed the same bytes, completed
// after the local commit and never waited for.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "cache/blob_store.h"
#include "cache/completion_guard.h"
#include "cache/tier_counters.h"

namespace regcache::cache {

// One upload to the remote tier. Its write was made on InlineCompletions, so its completions
// run on the remote store's threads: whatever they touch is atomic. Kept alive by the commit's
// completion once its TieredBlobWrite let go of it.
struct RemoteUpload {
  std::unique_ptr<BlobWrite> write;
  Digest digest;
  std::shared_ptr<TierCounters> counters;
  std::atomic<std::uint64_t> pending{0}; // bytes handed to write->append, not yet stored
  std::atomic<bool> failed{false};
  std::function<void(const Digest &)> markUsed; // when it completes (may be empty)
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
  CompletionGuard guard_;
};

} // namespace regcache::cache
