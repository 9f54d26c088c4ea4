#pragma once
// The blob store on a local filesystem:
//   <data-dir>/blobs/sha256/<2 hex>/<64 hex>   committed blobs
//   <data-dir>/tmp/                            writes in progress (removed at start-up)
// Commit is fsync of the file, rename into place, and fsync of the directory, so a crash at
// any moment leaves either no blob or a complete, verified one. All of that, and the SHA-256 of
// appended bytes, runs on the store's I/O threads; a loop only opens descriptors and, when the
// bytes are in the page cache, reads them (tryReadNow: preadv2 with RWF_NOWAIT).
// No operation follows a symlink inside the store: listing, sweeping, reading and removing use
// directory descriptors and *at() calls with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW.
// Descriptors of blobs read recently stay open (a bounded LRU, cache/file_blob_store_open_files.h)
// and are handed out again only while the file still has a link, so a hit costs one fstat().
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "base/periodic_thread.h"
#include "base/unique_fd.h"
#include "cache/blob_store.h"
#include "cache/io_pool.h"

namespace regcache::cache {

struct FileBlobStoreOptions {
  unsigned ioThreads = 2; // --store-io-threads
  // tryReadNow reads from the page cache on the caller's thread. False: it always says "would
  // block", so every read goes to the I/O threads (tests of that path, benchmarks).
  bool readsOnCaller = true;
  // Descriptors of committed blobs kept open between reads (least recently used first out); 0
  // keeps none. Each is one open file per blob, counted against the process's descriptor limit.
  std::size_t keptDescriptors = 256;
  // How often the kept descriptors of blobs removed by another process (`regcache cache rm`)
  // are looked for and closed, so that their disk space is freed even if nobody asks for them.
  std::chrono::milliseconds keptDescriptorSweep{1000};
};

class OpenBlobFiles;

class FileBlobStore final : public BlobStore {
public:
  // Creates the directories. Throws std::runtime_error if it cannot, or if blobs/, blobs/sha256
  // or tmp/ is a symlink (start-up only). The directories are held open from here on.
  explicit FileBlobStore(const std::filesystem::path &dataDir, FileBlobStoreOptions options = {});
  // Runs the I/O already queued (their completions are posted), then stops the threads.
  ~FileBlobStore() override;

  // Descriptors kept open now (tests): at most FileBlobStoreOptions::keptDescriptors.
  std::size_t keptDescriptors() const;

  Result<std::unique_ptr<BlobWrite>> begin(const Digest &digest,
                                           CompletionQueue &completions) override;
  Result<std::unique_ptr<BlobReader>> openReader(const Digest &digest,
                                                 CompletionQueue &completions) override;
  void stat(const Digest &digest, CompletionQueue &completions, Done<BlobInfo> done) override;
  void remove(const Digest &digest, CompletionQueue &completions, Done<void> done) override;
  void list(CompletionQueue &completions, Done<std::vector<BlobInfo>> done) override;
  void removeLeftovers(CompletionQueue &completions, Done<std::size_t> done) override;

  // The directory descriptors the store's parts work under (never a symlink).
  struct Dirs {
    UniqueFd blobs; // blobs/sha256
    UniqueFd tmp;
  };

private:
  std::shared_ptr<const Dirs> dirs_;
  FileBlobStoreOptions options_;
  std::unique_ptr<OpenBlobFiles> openFiles_; // outlives the pool's jobs and the sweeper
  IoPool pool_; // destroyed before the above, so queued I/O still finds the directories open
  std::unique_ptr<PeriodicThread> sweeper_; // destroyed first; null when nothing is kept
};

} // namespace regcache::cache
