#include "cache/blob_store_sync.h"

#include <future>

namespace regcache::cache {
namespace {

// Starts an operation with a completion callback, and waits for its result.
template <typename T, typename Start> Result<T> await(Start start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> result) { promise.set_value(std::move(result)); });
  return future.get();
}

} // namespace

InlineCompletions &InlineCompletions::instance() {
  static InlineCompletions completions;
  return completions;
}

Result<void> appendNow(BlobWrite &write, std::string bytes) {
  return await<void>(
      [&](BlobWrite::Done done) { write.append(std::move(bytes), std::move(done)); });
}

Result<void> commitNow(BlobWrite &write, std::optional<std::uint64_t> expectedSize) {
  return await<void>([&](BlobWrite::Done done) { write.commit(expectedSize, std::move(done)); });
}

Result<std::string> readNow(BlobReader &reader, std::uint64_t offset, std::size_t max) {
  return await<std::string>([&](std::function<void(Result<std::string>)> done) {
    reader.read(offset, max, [done = std::move(done)](Result<std::span<const char>> bytes) {
      // Copied here: the span is only valid until the reader's next read.
      if (!bytes.ok()) return done(bytes.failure());
      done(std::string(bytes->data(), bytes->size()));
    });
  });
}

Result<BlobInfo> statNow(BlobStore &store, const Digest &digest) {
  return await<BlobInfo>([&](BlobStore::Done<BlobInfo> done) {
    store.stat(digest, InlineCompletions::instance(), std::move(done));
  });
}

Result<void> removeNow(BlobStore &store, const Digest &digest) {
  return await<void>([&](BlobStore::Done<void> done) {
    store.remove(digest, InlineCompletions::instance(), std::move(done));
  });
}

Result<std::vector<BlobInfo>> listNow(BlobStore &store) {
  return await<std::vector<BlobInfo>>([&](BlobStore::Done<std::vector<BlobInfo>> done) {
    store.list(InlineCompletions::instance(), std::move(done));
  });
}

Result<std::size_t> removeLeftoversNow(BlobStore &store) {
  return await<std::size_t>([&](BlobStore::Done<std::size_t> done) {
    store.removeLeftovers(InlineCompletions::instance(), std::move(done));
  });
}

Result<void> putNow(BlobStore &store, const Digest &digest, std::string bytes) {
  auto write = store.begin(digest, InlineCompletions::instance());
  if (!write.ok()) return write.failure();
  std::uint64_t size = bytes.size();
  if (auto appended = appendNow(**write, std::move(bytes)); !appended.ok()) return appended;
  return commitNow(**write, size);
}

Result<std::string> readAllNow(BlobStore &store, const Digest &digest, std::uint64_t size) {
  auto reader = store.openReader(digest, InlineCompletions::instance());
  if (!reader.ok()) return reader.failure();
  std::string bytes;
  while (bytes.size() < size) {
    std::size_t want = static_cast<std::size_t>(size - bytes.size());
    std::uint64_t at = bytes.size();
    std::string chunk;
    if (auto now = (*reader)->tryReadNow(at, want)) {
      if (!now->ok()) return now->failure();
      chunk.assign(now->value().data(), now->value().size());
    } else {
      auto read = readNow(**reader, at, want);
      if (!read.ok()) return read.failure();
      chunk = std::move(read.value());
    }
    if (chunk.empty()) break; // the blob is shorter
    bytes += chunk;
  }
  return bytes;
}

} // namespace regcache::cache
