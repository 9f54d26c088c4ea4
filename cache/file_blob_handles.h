#pragma once
// The file store's handles (internal to cache/file_blob_store.cc): a reader over one open file,
// committed or still being written, and the write that fills a temp file on a strand of the
// store's I/O pool.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "cache/blob_store.h"
#include "cache/completion_guard.h"
#include "cache/file_blob_store.h"
#include "cache/io_pool.h"

namespace regcache::cache {

// One open file that readers share: a committed blob, or a write's temp file (the descriptor
// stays valid across the rename). Fields other than the descriptor are atomics, because the
// write updates them on an I/O thread while readers on loops look at them.
struct ReadableFile {
  UniqueFd fd;
  std::atomic<std::uint64_t> readable{0}; // bytes readers may see
  std::atomic<bool> gone{false};          // the write was aborted: nothing to read
};

class FileBlobReader final : public BlobReader {
public:
  // `noWait` false: tryReadNow always says "would block" (FileBlobStoreOptions::readsOnCaller).
  FileBlobReader(std::shared_ptr<const ReadableFile> file, IoPool &pool,
                 CompletionQueue &completions, bool noWait);
  void read(std::uint64_t offset, std::size_t max, ReadDone done) override;
  std::optional<Result<std::span<const char>>> tryReadNow(std::uint64_t offset,
                                                          std::size_t max) override;

private:
  std::shared_ptr<const ReadableFile> file_;
  IoPool &pool_;
  // Reused for every read; shared with a read in flight, which may outlive the reader.
  std::shared_ptr<std::vector<char>> buffer_ = std::make_shared<std::vector<char>>();
  bool noWait_; // false when asked, or once the filesystem refused RWF_NOWAIT
  CompletionGuard guard_;
};

// Opens readers of one write from any thread.
class FileReaderSource final : public BlobReaderSource {
public:
  FileReaderSource(std::shared_ptr<const ReadableFile> file, IoPool &pool, bool noWait)
      : file_(std::move(file)), pool_(pool), noWait_(noWait) {}
  Result<std::unique_ptr<BlobReader>> openReader(CompletionQueue &completions) override {
    return std::unique_ptr<BlobReader>(new FileBlobReader(file_, pool_, completions, noWait_));
  }

private:
  std::shared_ptr<const ReadableFile> file_;
  IoPool &pool_;
  bool noWait_;
};

// A write's file lent to another store (BlobWrite::storedBytes): positional reads, bounded by
// what the write stored, on the caller's (a store's) thread. Keeps the descriptor open, so the
// bytes stay readable after the commit even if the blob is evicted meanwhile.
class FileStoredBytes final : public StoredBytes {
public:
  explicit FileStoredBytes(std::shared_ptr<const ReadableFile> file) : file_(std::move(file)) {}
  Result<std::size_t> readAt(std::uint64_t offset, std::span<char> into) const override;

private:
  std::shared_ptr<const ReadableFile> file_;
};

class FileBlobWrite final : public BlobWrite {
public:
  // `fd` is the temp file `tempName` under dirs->tmp, open read-write.
  FileBlobWrite(Digest digest, UniqueFd fd, std::string tempName,
                std::shared_ptr<const FileBlobStore::Dirs> dirs, IoPool &pool,
                CompletionQueue &completions, bool noWait);
  ~FileBlobWrite() override;
  void append(std::string bytes, Done done) override;
  void commit(std::optional<std::uint64_t> expectedSize, Done done) override;
  std::uint64_t appended() const override { return appended_; }
  Result<std::unique_ptr<BlobReader>> openReader(CompletionQueue &completions) override;
  std::shared_ptr<BlobReaderSource> readerSource() override;
  std::shared_ptr<const StoredBytes> storedBytes() override;

  struct State; // what the I/O thread works on; outlives the handle while jobs are queued

private:
  std::shared_ptr<State> state_;
  std::shared_ptr<IoPool::Strand> strand_;
  IoPool &pool_;
  bool noWait_; // for its readers
  std::uint64_t appended_ = 0;
  bool committing_ = false;
  CompletionGuard guard_;
};

} // namespace regcache::cache
