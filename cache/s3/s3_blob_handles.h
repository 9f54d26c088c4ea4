#pragma once
// The S3 store's handles (internal to cache/s3/s3_blob_store.cc): the write that spools,
// hashes and uploads one blob, and the reader of a committed blob by ranged GETs. Readers of a
// write in progress read its spool file with the file store's reader (cache/file_blob_handles.h).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/unique_fd.h"
#include "cache/blob_store.h"
#include "cache/completion_guard.h"
#include "cache/file_blob_handles.h"
#include "cache/io_pool.h"
#include "cache/s3/s3_blob_store.h"

namespace regcache::cache::s3 {

struct S3BlobStore::Shared {
  S3Client *client = nullptr;
  S3StoreOptions options;
  UniqueFd spoolDir;

  std::string blobKey(const Digest &digest) const;
  // Sizes of blobs this process knows to be in the bucket: openReader needs no HEAD for them.
  // Bounded: forgotten all at once when full.
  void remember(const Digest &digest, std::uint64_t size);
  void forget(const Digest &digest);
  std::optional<std::uint64_t> knownSize(const Digest &digest);
  // Blocking, on a store thread.
  Result<BlobInfo> head(const Digest &digest);
  void abortUpload(const std::string &key, const std::string &uploadId);

private:
  std::mutex knownMutex_;
  std::unordered_map<std::string, std::uint64_t> known_;
};

// A failure for an answer that is not the success a request expected.
Failure answerFailure(const S3Client &client, const S3Request &request, const S3Response &response);

class S3BlobReader final : public BlobReader {
public:
  S3BlobReader(Digest digest, std::uint64_t size, std::shared_ptr<S3BlobStore::Shared> shared,
               IoPool &pool, CompletionQueue &completions);
  void read(std::uint64_t offset, std::size_t max, ReadDone done) override;
  // Bytes already read ahead, or "would block".
  std::optional<Result<std::span<const char>>> tryReadNow(std::uint64_t offset,
                                                          std::size_t max) override;

private:
  struct Window { // what the last ranged GET brought; shared with the GET in flight
    std::uint64_t start = 0;
    std::string bytes;
  };
  std::optional<std::span<const char>> fromWindow(std::uint64_t offset, std::size_t max) const;

  Digest digest_;
  std::uint64_t size_;
  std::shared_ptr<S3BlobStore::Shared> shared_;
  IoPool &pool_;
  std::shared_ptr<Window> window_ = std::make_shared<Window>();
  CompletionGuard guard_;
};

class S3BlobWrite final : public BlobWrite {
public:
  S3BlobWrite(Digest digest, UniqueFd spool, std::shared_ptr<S3BlobStore::Shared> shared,
              IoPool &pool, CompletionQueue &completions);
  ~S3BlobWrite() override;
  void append(std::string bytes, Done done) override;
  void commit(std::optional<std::uint64_t> expectedSize, Done done) override;
  std::uint64_t appended() const override { return appended_; }
  Result<std::unique_ptr<BlobReader>> openReader(CompletionQueue &completions) override;
  std::shared_ptr<BlobReaderSource> readerSource() override;

  struct State; // what the store's threads work on; outlives the handle while jobs are queued

private:
  std::shared_ptr<State> state_;
  std::shared_ptr<IoPool::Strand> strand_;  // spool writes, hashing, the commit's checks
  std::shared_ptr<IoPool::Strand> uploads_; // the upload's requests, in order
  IoPool &pool_;
  std::uint64_t appended_ = 0;
  bool committing_ = false;
  CompletionGuard guard_;
};

} // namespace regcache::cache::s3
