#pragma once
// The file store's descriptors of committed blobs, kept open between hits (internal to
// cache/file_blob_store.cc). A hit on a hot blob then costs one fstat() instead of opening its
// prefix directory and its file and closing both: workload 2 (small manifests over keep-alive
// connections) spent most of its system calls there.
//
// A kept descriptor is only handed out while it is still the blob on disk: fstat() must show
// a link (st_nlink > 0). A blob removed, by this process or another (`regcache cache rm` runs
// apart from the server), or replaced by a rename over it, has lost its last link: the entry
// is dropped and the caller opens the path again, which then finds the new file or nothing.
// Dropping entries is what frees a removed blob's disk space, so removal drops at once, and a
// sweep (sweepUnlinked) catches blobs removed by another process.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "base/lru.h"
#include "cache/blob_store.h"
#include "cache/file_blob_handles.h"

namespace regcache::cache {

class OpenBlobFiles {
public:
  // At most `capacity` descriptors; 0 keeps none (every find misses, keep does nothing).
  explicit OpenBlobFiles(std::size_t capacity);

  // Any thread. The kept file of `digest`, with `readable` its current size, if it is still
  // linked; else nullptr (and an unlinked entry is dropped, closing its descriptor once no
  // reader holds it).
  std::shared_ptr<ReadableFile> find(const Digest &digest);
  // Any thread. Keeps `file` (a committed blob opened without following links) for `digest`;
  // the least recently used entry goes when over capacity.
  void keep(const Digest &digest, std::shared_ptr<ReadableFile> file);
  // Any thread. Forgets `digest` (the store removed it).
  void drop(const Digest &digest);
  // Any thread; it runs fstat() on every entry, so call it off the loops. Drops every entry
  // whose file has no link left; how many.
  std::size_t sweepUnlinked();
  // Entries kept now (tests).
  std::size_t size() const;

private:
  const bool enabled_;
  mutable std::mutex mutex_;
  LruCache<std::string, std::shared_ptr<ReadableFile>> files_; // by digest hex
};

} // namespace regcache::cache
