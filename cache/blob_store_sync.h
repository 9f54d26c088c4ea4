#pragma once
// The blob store for threads that are not event loops (CLI commands, the evictor, reconcile,
// tests): InlineCompletions runs each completion at once, on the store's thread that posts it,
// and the *Now helpers wait for one operation. Never call a helper on a loop with a handle made
// for that loop's queue: the completion would wait behind the waiting loop.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/blob_store.h"

namespace regcache::cache {

class InlineCompletions final : public CompletionQueue {
public:
  void post(std::function<void()> callback) override { callback(); }
  // One shared instance: it has no state.
  static InlineCompletions &instance();
};

// Each waits for the operation's completion. Handles must have been made with
// InlineCompletions (or a queue that some other thread runs).
Result<void> appendNow(BlobWrite &write, std::string bytes);
Result<void> commitNow(BlobWrite &write, std::optional<std::uint64_t> expectedSize);
// Up to `max` bytes at `offset`, copied out; empty at the end (or ahead of a write).
Result<std::string> readNow(BlobReader &reader, std::uint64_t offset, std::size_t max);
Result<BlobInfo> statNow(BlobStore &store, const Digest &digest);
Result<void> removeNow(BlobStore &store, const Digest &digest);
Result<std::vector<BlobInfo>> listNow(BlobStore &store);
Result<std::size_t> removeLeftoversNow(BlobStore &store);

// Writes and commits a whole blob (tools and tests).
Result<void> putNow(BlobStore &store, const Digest &digest, std::string bytes);
// The first `size` bytes of a committed blob, or kNotFound / kIo; shorter than `size` when the
// blob is. Tries the page cache first (tryReadNow), so it may be used on a loop for a small
// blob: it opens a reader of its own on InlineCompletions, and waits on the pool only when the
// bytes are not cached.
Result<std::string> readAllNow(BlobStore &store, const Digest &digest, std::uint64_t size);

} // namespace regcache::cache
