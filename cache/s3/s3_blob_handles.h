#pragma once
// The S3 store's handles (internal to cache/s3/s3_blob_store.cc): the write that spools,
// hashes and uploads one blob, the copy that uploads a blob another store's write holds, and
// the reader of a committed blob by ranged GETs. Readers of a
// write in progress read its spool file with the file store's reader (cache/file_blob_handles.h).
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
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

// Reads a committed blob by ranged GETs of `readAheadBytes` windows: the window being read, and
// up to `readAheadWindows` next ones fetched in the background meanwhile (so the bucket and the
// reader's owner work at once). A read elsewhere (a seek) drops the windows ahead. Destroying
// the reader cancels the GETs in flight (their bytes are dropped, their completions never run).
class S3BlobReader final : public BlobReader {
public:
  S3BlobReader(Digest digest, std::uint64_t size, std::shared_ptr<S3BlobStore::Shared> shared,
               IoPool &pool, CompletionQueue &completions);
  ~S3BlobReader() override;
  void read(std::uint64_t offset, std::size_t max, ReadDone done) override;
  // Bytes already read ahead, or "would block".
  std::optional<Result<std::span<const char>>> tryReadNow(std::uint64_t offset,
                                                          std::size_t max) override;

private:
  struct Window { // what one ranged GET brought; written only by its GET until it landed
    std::uint64_t start = 0;
    std::string bytes;
  };
  // A ranged GET in flight or landed, not yet read from.
  struct Fetch {
    std::uint64_t id = 0;
    std::uint64_t start = 0;
    std::uint64_t length = 0;
    std::shared_ptr<Window> window;
    std::shared_ptr<std::atomic<bool>> cancelled; // the GET stops reading once set
    bool landed = false;
    Result<void> got;
    std::function<void()> waiter; // the read waiting for it to land
  };
  std::optional<std::span<const char>> fromWindow(std::uint64_t offset, std::size_t max) const;
  // The next three: with mutex_ held. Starts the GET of [start, start + length) behind the
  // windows already asked.
  void startFetch(std::uint64_t start, std::uint64_t length);
  // Tops the windows ahead up to readAheadWindows, after the last one asked (or the current).
  void fetchAhead();
  void dropAhead();
  void onLanded(std::uint64_t id, Result<void> got);
  // Makes the first fetch (landed) the current window and answers the read at `offset`.
  void deliver(std::uint64_t offset, std::size_t max, ReadDone done);

  Digest digest_;
  std::uint64_t size_;
  std::shared_ptr<S3BlobStore::Shared> shared_;
  IoPool &pool_;
  std::shared_ptr<Window> window_ = std::make_shared<Window>(); // the current window
  std::deque<Fetch> ahead_;                                     // in the blob's order
  std::uint64_t nextId_ = 1;
  // Guards the three above, never held while posting or calling back: with InlineCompletions a
  // GET's completion runs on a store thread while the owner reads from its own.
  std::mutex mutex_;
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

// Copies a blob from another store's write (the local tier's file) into the bucket: each part
// read from the source when it goes up, no spool and no SHA-256 of its own (see the .cc: its
// commit comes only after the source's verified one). Parts go up on a strand of the store's
// pool as grew() reports them; commitVerified sends the last and completes the upload.
class S3BlobCopy final : public BlobCopy {
public:
  S3BlobCopy(Digest digest, std::shared_ptr<const StoredBytes> source,
             std::shared_ptr<S3BlobStore::Shared> shared, IoPool &pool,
             CompletionQueue &completions);
  ~S3BlobCopy() override;
  void grew(std::uint64_t stored) override;
  void commitVerified(std::uint64_t size, Done done) override;

private:
  std::shared_ptr<S3BlobWrite::State> state_; // its upload half; no spool, no hasher
  std::shared_ptr<IoPool::Strand> uploads_;
  std::uint64_t partSize_;
  // The owner's: what the source holds, and the parts handed to the strand so far.
  std::uint64_t told_ = 0;
  std::uint64_t partStart_ = 0;
  int nextPart_ = 1;
  std::optional<Failure> failed_;
  bool committing_ = false;
  CompletionGuard guard_;
};

} // namespace regcache::cache::s3
