#pragma once
// Where blob bytes live, behind an asynchronous interface that never hands out a path, so that
// a local filesystem and an S3-API object store are interchangeable (the fleet store is the
// second implementation). Shape after Envoy's http_cache.h: every operation completes later, on
// the loop that asked, through the CompletionQueue it named; the store does its I/O on threads
// of its own, so a worker's event loop never waits on a disk or a bucket.
//
// Threading contract, for every implementation:
// - A BlobWrite or BlobReader is used from one thread (its owner's loop) only.
// - Completions run through the CompletionQueue given when the handle was made, never inline
//   inside the call that started them.
// - Destroying a handle on its owner's thread means none of its completions runs afterwards,
//   even one already queued: owners need no liveness tokens of their own.
// - BlobStore's own methods may be called from any thread.
//
// Visibility contract: a committed blob is complete and verified. Until commit, nothing in the
// store answers stat() or openReader(digest) for it; a write that is destroyed, aborted or
// whose bytes do not match leaves nothing behind.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/oci/digest.h"
#include "base/result.h"

namespace regcache::cache {

// Blobs are keyed by OCI digests (base/oci/digest.h); the store and its implementations name
// them as their own.
using oci::Digest;
using oci::parseDigest;

// Runs callbacks on the thread that owns it (a worker loop; tests and CLI threads may run them
// inline on the store's thread: see InlineCompletions). post() is callable from any thread.
class CompletionQueue {
public:
  virtual ~CompletionQueue() = default;
  virtual void post(std::function<void()> callback) = 0;
};

struct BlobInfo {
  Digest digest;
  std::uint64_t size = 0;
  // When the blob was committed (a file's mtime, an object's LastModified): reconcile spares
  // an unindexed blob younger than its grace period, whose row may be on its way.
  std::chrono::system_clock::time_point modified{};
};

// Bytes of a blob, committed or still being written. Reads are positional: several readers of
// one blob keep their own positions, and each owns its handle.
class BlobReader {
public:
  using ReadDone = std::function<void(Result<std::span<const char>>)>;
  virtual ~BlobReader() = default;
  // Up to `max` bytes at `offset`. The span stays valid until the next read on this reader or
  // its destruction. One read at a time: the next read() or tryReadNow() waits for `done`. An empty
  // span means no byte is there yet: at or past the end of a committed blob, or past what a write
  // in progress has appended so far (the fill, not the store, tells its readers when more has
  // landed). kNotFound if the blob went away.
  virtual void read(std::uint64_t offset, std::size_t max, ReadDone done) = 0;
  // The same, completed at once when it can be done without blocking (the file store: bytes
  // already in the page cache). nullopt means "would block": call read() instead.
  virtual std::optional<Result<std::span<const char>>> tryReadNow(std::uint64_t offset,
                                                                  std::size_t max) = 0;
};

// Opens readers of one write in progress from any thread: how a fill's readers on other workers
// join it (a BlobWrite itself belongs to its owner's thread). It stays usable after the write
// is committed (readers see the whole blob) or gone (readers then fail with kNotFound), so it
// may be kept by whoever shares the fill, for as long as they like.
class BlobReaderSource {
public:
  virtual ~BlobReaderSource() = default;
  // Any thread. A reader whose completions run on `completions`.
  virtual Result<std::unique_ptr<BlobReader>> openReader(CompletionQueue &completions) = 0;
};

// The bytes a write has stored so far, lent to another store's threads so that a tier behind
// (an S3 upload) sends the bytes the tier in front already wrote instead of a copy of its own.
// Stored bytes never change: a write only adds after what it stored.
class StoredBytes {
public:
  virtual ~StoredBytes() = default;
  // Any thread; blocking (a disk read): call it from a store's threads, never a loop. Up to
  // `into.size()` bytes at `offset` into `into`; 0 at or past what is stored so far. kNotFound
  // once the write was discarded (aborted, mismatched), kIo on a read error.
  virtual Result<std::size_t> readAt(std::uint64_t offset, std::span<char> into) const = 0;
};

// A copy into this store of a blob whose bytes another write holds (StoredBytes): what the
// tiered store's upload is when the remote can take it so. Used from one thread (its owner's),
// except that it may be destroyed inside its commit's completion.
// Unlike a BlobWrite, it does not hash: its owner verified the bytes (the source write's own
// commit checked the digest and size) before it commits, and that is the whole reason it may
// skip the second SHA-256. So a copy is committed only after a verified commit of its source.
class BlobCopy {
public:
  using Done = std::function<void(Result<void>)>;
  // An uncommitted copy, or one whose commit has not completed, is aborted: nothing is kept.
  virtual ~BlobCopy() = default;
  // The source now holds its first `stored` bytes (never fewer than told before). Cheap: the
  // copy reads them on the store's threads when it needs them.
  virtual void grew(std::uint64_t stored) = 0;
  // Makes the blob visible, its `size` bytes read from the source, which the caller verified
  // hash to the digest given to beginCopy (the source's commit succeeded). kIo (nothing kept)
  // if the copy failed or `size` is not what grew() said. At most once; `done` runs on the
  // store's threads or the queue given to beginCopy, as that store documents.
  virtual void commitVerified(std::uint64_t size, Done done) = 0;
};

// One blob being written by one owner (a fill). Appends are applied and completed in order.
// The store hashes the bytes as it writes them, on its own threads.
class BlobWrite {
public:
  using Done = std::function<void(Result<void>)>;
  virtual ~BlobWrite() = default; // an uncommitted write is aborted
  // Queues `bytes` after those before. `done` runs once they are stored (readable by readers of
  // this write, not yet durable). Callers bound what they have outstanding (backpressure).
  virtual void append(std::string bytes, Done done) = 0;
  // Makes the blob durable and visible, only if the bytes hash to the digest given to begin()
  // and their count equals `expectedSize` when given; kUpstream on a mismatch, with nothing
  // kept. At most one commit, after the last append() call (appends still outstanding are
  // stored first); a failed append makes the commit fail too. Destroying the write before
  // `done` ran abandons the commit: nothing is kept. A commit that fails (kIo) after the bytes
  // verified may leave them readable by this write's readers until it is destroyed (the file
  // store does: a client that fell behind the fill still gets them).
  virtual void commit(std::optional<std::uint64_t> expectedSize, Done done) = 0;
  // Bytes whose append completed.
  virtual std::uint64_t appended() const = 0;
  // A reader of this write's bytes as they land, which stays valid after the commit.
  virtual Result<std::unique_ptr<BlobReader>> openReader(CompletionQueue &completions) = 0;
  // The same for other threads: share it with the fill's readers.
  virtual std::shared_ptr<BlobReaderSource> readerSource() = 0;
  // This write's bytes for another store to copy from (BlobStore::beginCopy), valid past the
  // commit and past this handle; null when this store cannot lend them (the caller then hands
  // the other store its own copy of every append).
  virtual std::shared_ptr<const StoredBytes> storedBytes() { return nullptr; }
};

class BlobStore {
public:
  template <typename T> using Done = std::function<void(Result<T>)>;
  virtual ~BlobStore() = default;
  // Starts writing the blob that should hash to `digest`. Fails (kIo) when the store cannot
  // take a write now; callers then serve without caching. Every method below is completed
  // through `completions`; the store must outlive every handle and pending completion.
  virtual Result<std::unique_ptr<BlobWrite>> begin(const Digest &digest,
                                                   CompletionQueue &completions) = 0;
  // A reader of a committed blob; kNotFound if there is none. Cheap enough for a loop (the file
  // store opens a descriptor).
  virtual Result<std::unique_ptr<BlobReader>> openReader(const Digest &digest,
                                                         CompletionQueue &completions) = 0;
  virtual void stat(const Digest &digest, CompletionQueue &completions, Done<BlobInfo> done) = 0;
  virtual void remove(const Digest &digest, CompletionQueue &completions, Done<void> done) = 0;
  // Every committed blob.
  virtual void list(CompletionQueue &completions, Done<std::vector<BlobInfo>> done) = 0;
  // Removes what interrupted writes left behind (temp files, abandoned uploads); how many.
  virtual void removeLeftovers(CompletionQueue &completions, Done<std::size_t> done) = 0;
  // Starts a copy of the blob `digest` whose bytes `source` holds, committed only after the
  // caller verified them (BlobCopy). Fails (kInternal) when this store has no such path (the
  // default): then begin() and append a copy of the bytes.
  virtual Result<std::unique_ptr<BlobCopy>> beginCopy(const Digest &digest,
                                                      std::shared_ptr<const StoredBytes> source,
                                                      CompletionQueue &completions) {
    (void)digest, (void)source, (void)completions;
    return fail(Error::kInternal, "this store copies no other store's bytes");
  }
};

} // namespace regcache::cache
