// The BlobStore contract (cache/blob_store.h), checked against every implementation through
// the interface alone. A new store is one fixture and one entry in BlobStores below.
#include <catch2/catch.hpp>

#include "base/sha256.h"
#include "manual_completions.h"
#include "temp_dir.h"

#include <atomic>
#include <fstream>
#include <thread>
#include <tuple>

#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "cache/tiered_blob_store.h"
#ifdef REGCACHE_CONFORMANCE_S3
#include "s3_store_fixture.h"
#endif

using namespace regcache::cache;
using regcache::Error;
using regcache::Result;
using regcache::sha256Hex;
using regcache::test::ManualCompletions;
using regcache::test::TempDir;

namespace {

// Each fixture owns one store, plus what the contract cannot say in its own terms: how an
// interrupted write looks after a crash.
struct FileStore {
  TempDir dir;
  std::unique_ptr<FileBlobStore> owned = std::make_unique<FileBlobStore>(dir.path());
  BlobStore &store() { return *owned; }
  // What a process killed mid-write leaves behind.
  void leaveInterruptedWrite() { std::ofstream(dir.path() / "tmp" / "fill-crashed") << "half"; }
  // Waits until the store has done everything it was asked (here: a new store on the same
  // directory, once the old one ran its queued I/O). Every handle must be gone.
  void settle() {
    owned.reset();
    owned = std::make_unique<FileBlobStore>(dir.path());
  }
};

// A local disk in front of a "bucket" that is another directory: the contract holds through both
// tiers (what the remote adds: uploads after the local commit, reads that verify and warm).
struct TieredStore {
  TempDir dir;
  std::unique_ptr<TieredBlobStore> owned = make();
  BlobStore &store() { return *owned; }
  void leaveInterruptedWrite() {
    std::ofstream(dir.path() / "local" / "tmp" / "fill-crashed") << "half";
  }
  void settle() {
    owned.reset();
    owned = make();
  }
  std::unique_ptr<TieredBlobStore> make() {
    return std::make_unique<TieredBlobStore>(
        std::make_shared<FileBlobStore>(dir.path() / "local"),
        std::make_shared<FileBlobStore>(dir.path() / "remote"));
  }
};

#ifdef REGCACHE_CONFORMANCE_S3
// tests/rgw builds this file again with the S3 store alone, against a real RGW.
using BlobStores = std::tuple<regcache::test::S3Store>;
#else
using BlobStores = std::tuple<FileStore, TieredStore>;
#endif

Digest digestOf(const std::string &content) { return *parseDigest("sha256:" + sha256Hex(content)); }

// The whole blob, read through a reader of its own.
std::string readAll(BlobStore &store, const Digest &digest) {
  auto reader = store.openReader(digest, InlineCompletions::instance());
  REQUIRE(reader.ok());
  std::string bytes;
  for (int i = 0; i < 10000; ++i) {
    auto chunk = readNow(**reader, bytes.size(), 4096);
    REQUIRE(chunk.ok());
    if (chunk->empty()) break;
    bytes += chunk.value();
  }
  return bytes;
}

// What a read at `offset` gives, with its completion run on the test thread like a loop's.
Result<std::string> readOn(ManualCompletions &queue, BlobReader &reader, std::uint64_t offset,
                           std::size_t max) {
  std::optional<Result<std::string>> got;
  reader.read(offset, max, [&](Result<std::span<const char>> bytes) {
    got = bytes.ok() ? Result<std::string>(std::string(bytes->data(), bytes->size()))
                     : Result<std::string>(bytes.failure());
  });
  REQUIRE(queue.runUntil([&] { return got.has_value(); }));
  return *got;
}

Result<void> appendOn(ManualCompletions &queue, BlobWrite &write, std::string bytes) {
  std::optional<Result<void>> got;
  write.append(std::move(bytes), [&](Result<void> stored) { got = stored; });
  REQUIRE(queue.runUntil([&] { return got.has_value(); }));
  return *got;
}

Result<void> commitOn(ManualCompletions &queue, BlobWrite &write,
                      std::optional<std::uint64_t> size) {
  std::optional<Result<void>> got;
  write.commit(size, [&](Result<void> committed) { got = committed; });
  REQUIRE(queue.runUntil([&] { return got.has_value(); }));
  return *got;
}

bool absent(BlobStore &store, const Digest &digest) {
  auto info = statNow(store, digest);
  auto reader = store.openReader(digest, InlineCompletions::instance());
  bool listed = false;
  auto blobs = listNow(store);
  REQUIRE(blobs.ok());
  for (const auto &blob : blobs.value())
    listed = listed || blob.digest == digest;
  return !info.ok() && info.failure().code == Error::kNotFound && !reader.ok() &&
         reader.failure().code == Error::kNotFound && !listed;
}

} // namespace

TEMPLATE_LIST_TEST_CASE("store: a blob written, committed and read back whole", "[store]",
                        BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  ManualCompletions queue;
  std::string content = std::string(300000, 'x') + "tail";
  Digest digest = digestOf(content);
  auto write = store.begin(digest, queue);
  REQUIRE(write.ok());
  CHECK(absent(store, digest)); // invisible until committed
  REQUIRE(appendOn(queue, **write, content.substr(0, 100000)).ok());
  REQUIRE(appendOn(queue, **write, content.substr(100000)).ok());
  CHECK((*write)->appended() == content.size());
  CHECK(absent(store, digest));
  REQUIRE(commitOn(queue, **write, content.size()).ok());
  CHECK(readAll(store, digest) == content);
  auto info = statNow(store, digest);
  REQUIRE(info.ok());
  CHECK(info->size == content.size());
  CHECK(info->digest == digest);
}

TEMPLATE_LIST_TEST_CASE("store: a reader of a write in progress reads up to what was appended",
                        "[store]", BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  ManualCompletions queue;
  std::string content = "0123456789abcdef";
  auto write = store.begin(digestOf(content), queue);
  REQUIRE(write.ok());
  auto atStart = (*write)->openReader(queue); // joins before any byte
  REQUIRE(atStart.ok());
  CHECK(readOn(queue, **atStart, 0, 100).value().empty());
  REQUIRE(appendOn(queue, **write, content.substr(0, 8)).ok());
  CHECK(readOn(queue, **atStart, 0, 100).value() == "01234567");
  CHECK(readOn(queue, **atStart, 8, 100).value().empty()); // at the end of what landed
  auto midway = (*write)->openReader(queue);               // joins with half written
  REQUIRE(midway.ok());
  CHECK(readOn(queue, **midway, 4, 2).value() == "45");
  REQUIRE(appendOn(queue, **write, content.substr(8)).ok());
  CHECK(readOn(queue, **midway, 6, 100).value() == "6789abcdef");
  auto atEnd = (*write)->openReader(queue); // joins with everything written
  REQUIRE(atEnd.ok());
  CHECK(readOn(queue, **atEnd, 16, 100).value().empty());
  CHECK(readOn(queue, **atEnd, 0, 100).value() == content);
  // tryReadNow either gives the same bytes or says "would block".
  if (auto now = (*atEnd)->tryReadNow(10, 3)) {
    REQUIRE(now->ok());
    std::string got(now->value().data(), now->value().size());
    CHECK(got == std::string("abc").substr(0, got.size()));
  }
}

TEMPLATE_LIST_TEST_CASE("store: readers on other threads join a write through its source",
                        "[store]", BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  ManualCompletions queue;
  std::string content(1 << 20, 'q');
  auto write = store.begin(digestOf(content), queue);
  REQUIRE(write.ok());
  auto source = (*write)->readerSource();
  REQUIRE(appendOn(queue, **write, content.substr(0, 1000)).ok());
  std::atomic<bool> stop{false};
  std::vector<std::string> seen(3);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    readers.emplace_back([&, i] {
      auto reader = source->openReader(InlineCompletions::instance());
      if (!reader.ok()) return;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (seen[i].size() < content.size() && std::chrono::steady_clock::now() < deadline) {
        auto chunk = readNow(**reader, seen[i].size(), 65536);
        if (!chunk.ok()) return;
        if (chunk->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        seen[i] += chunk.value();
      }
    });
  }
  REQUIRE(appendOn(queue, **write, content.substr(1000)).ok());
  REQUIRE(commitOn(queue, **write, content.size()).ok());
  write->reset(); // readers keep reading what was committed
  for (auto &reader : readers)
    reader.join();
  for (const auto &bytes : seen)
    CHECK(bytes == content);
}

TEMPLATE_LIST_TEST_CASE("store: readers of a blob go on while it commits and after", "[store]",
                        BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  ManualCompletions queue;
  std::string content(200000, 'c');
  Digest digest = digestOf(content);
  auto write = store.begin(digest, queue);
  REQUIRE(write.ok());
  REQUIRE(appendOn(queue, **write, content).ok());
  auto reader = (*write)->openReader(queue);
  REQUIRE(reader.ok());
  std::optional<Result<void>> committed;
  (*write)->commit(content.size(), [&](Result<void> result) { committed = result; });
  CHECK(readOn(queue, **reader, 0, 1000).value() == content.substr(0, 1000)); // mid-commit
  REQUIRE(queue.runUntil([&] { return committed.has_value(); }));
  REQUIRE(committed->ok());
  write->reset();
  CHECK(readOn(queue, **reader, 1000, content.size()).value() == content.substr(1000));
  CHECK(readAll(store, digest) == content);
}

TEMPLATE_LIST_TEST_CASE("store: an aborted or destroyed write leaves nothing", "[store]",
                        BlobStores) {
  TestType fixture;
  ManualCompletions queue;
  std::string content = "never committed";
  Digest digest = digestOf(content);
  std::unique_ptr<BlobReader> orphanReader;
  {
    auto write = fixture.store().begin(digest, queue);
    REQUIRE(write.ok());
    REQUIRE(appendOn(queue, **write, content).ok());
    orphanReader = std::move((*write)->openReader(queue).value());
  }
  { // destroyed with an append and a commit still in flight
    auto write = fixture.store().begin(digest, queue);
    REQUIRE(write.ok());
    (*write)->append(content, [](Result<void>) { FAIL("a completion after destruction"); });
    (*write)->commit(content.size(), [](Result<void>) { FAIL("a completion after destruction"); });
  }
  // The abandoned write is gone for its readers too (once the store has caught up).
  std::optional<Result<std::string>> late;
  for (int i = 0; i < 500 && (!late || late->ok()); ++i) {
    late = readOn(queue, *orphanReader, 0, 100);
    if (late->ok()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_FALSE(late->ok());
  CHECK(late->failure().code == Error::kNotFound);
  orphanReader.reset();
  fixture.settle();
  queue.runQueued(); // what reached the queue for the destroyed handles runs nothing
  CHECK(absent(fixture.store(), digest));
  CHECK(removeLeftoversNow(fixture.store()).value() == 0); // nothing of it is left over either
}

TEMPLATE_LIST_TEST_CASE("store: wrong bytes or a wrong length are never committed", "[store]",
                        BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  ManualCompletions queue;
  std::string content = "the real content";
  Digest digest = digestOf(content);
  SECTION("digest mismatch") {
    auto write = store.begin(digest, queue);
    REQUIRE(write.ok());
    REQUIRE(appendOn(queue, **write, "other content!!!").ok());
    auto reader = (*write)->openReader(queue);
    auto committed = commitOn(queue, **write, std::nullopt);
    REQUIRE_FALSE(committed.ok());
    CHECK(committed.failure().code == Error::kUpstream);
    CHECK(readOn(queue, **reader, 0, 100).failure().code == Error::kNotFound);
  }
  SECTION("size mismatch") {
    auto write = store.begin(digest, queue);
    REQUIRE(write.ok());
    REQUIRE(appendOn(queue, **write, content).ok());
    auto committed = commitOn(queue, **write, content.size() + 1);
    REQUIRE_FALSE(committed.ok());
    CHECK(committed.failure().code == Error::kUpstream);
  }
  CHECK(absent(store, digest));
  CHECK(removeLeftoversNow(store).value() == 0);
}

TEMPLATE_LIST_TEST_CASE("store: stat, remove and list", "[store]", BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  Digest one = digestOf("one"), two = digestOf("two!");
  REQUIRE(putNow(store, one, "one").ok());
  REQUIRE(putNow(store, two, "two!").ok());
  CHECK(statNow(store, two).value().size == 4);
  auto listed = listNow(store).value();
  CHECK(listed.size() == 2);
  for (const auto &blob : listed) {
    CHECK((blob.digest == one || blob.digest == two));
    CHECK(blob.size == (blob.digest == one ? 3u : 4u));
    CHECK(blob.modified > std::chrono::system_clock::now() - std::chrono::hours(1));
  }
  REQUIRE(removeNow(store, one).ok());
  CHECK(absent(store, one));
  CHECK(removeNow(store, one).ok()); // removing what is not there is not an error
  CHECK(listNow(store).value().size() == 1);
  CHECK(readAll(store, two) == "two!");
}

TEMPLATE_LIST_TEST_CASE("store: leftovers of interrupted writes are removed, blobs are not",
                        "[store]", BlobStores) {
  TestType fixture;
  Digest kept = digestOf("kept");
  REQUIRE(putNow(fixture.store(), kept, "kept").ok());
  fixture.leaveInterruptedWrite();
  CHECK(removeLeftoversNow(fixture.store()).value() == 1);
  CHECK(removeLeftoversNow(fixture.store()).value() == 0);
  CHECK(readAll(fixture.store(), kept) == "kept");
}

TEMPLATE_LIST_TEST_CASE("store: completions run only through the queue, never after the handle",
                        "[store]", BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  ManualCompletions queue;
  std::string content = "queued";
  auto write = store.begin(digestOf(content), queue);
  REQUIRE(write.ok());
  bool appended = false;
  (*write)->append(content, [&](Result<void>) { appended = true; });
  CHECK_FALSE(appended); // never inline inside the call
  REQUIRE(queue.waitForQueued(1));
  CHECK_FALSE(appended); // not on the store's thread either
  queue.runQueued();
  CHECK(appended);
  CHECK((*write)->appended() == content.size());

  auto reader = (*write)->openReader(queue);
  REQUIRE(reader.ok());
  bool read = false;
  (*reader)->read(0, 100, [&](Result<std::span<const char>>) { read = true; });
  (*write)->append("more", [&](Result<void>) { FAIL("ran after its write was destroyed"); });
  REQUIRE(queue.waitForQueued(2)); // both completions are queued...
  reader->reset();                 // ...and their handles go before the loop runs them
  write->reset();
  queue.runQueued();
  CHECK_FALSE(read);
}

TEMPLATE_LIST_TEST_CASE("store: concurrent writes of different digests", "[store]", BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  std::vector<std::string> contents;
  for (int i = 0; i < 8; ++i)
    contents.push_back(std::string(50000 + i * 1000, static_cast<char>('a' + i)));
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (const auto &content : contents) {
    writers.emplace_back([&, content] {
      auto write = store.begin(digestOf(content), InlineCompletions::instance());
      if (!write.ok()) return void(++failures);
      for (std::size_t at = 0; at < content.size(); at += 7000) {
        if (!appendNow(**write, content.substr(at, 7000)).ok()) ++failures;
      }
      if (!commitNow(**write, content.size()).ok()) ++failures;
    });
  }
  for (auto &writer : writers)
    writer.join();
  CHECK(failures == 0);
  for (const auto &content : contents)
    CHECK(readAll(store, digestOf(content)) == content);
  CHECK(listNow(store).value().size() == contents.size());
}

TEMPLATE_LIST_TEST_CASE("store: two writes of one digest leave one good blob", "[store]",
                        BlobStores) {
  TestType fixture;
  BlobStore &store = fixture.store();
  ManualCompletions queue;
  std::string content(100000, 'z');
  Digest digest = digestOf(content);
  auto first = store.begin(digest, queue);
  auto second = store.begin(digest, queue);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  REQUIRE(appendOn(queue, **first, content.substr(0, 50000)).ok());
  REQUIRE(appendOn(queue, **second, content).ok());
  REQUIRE(appendOn(queue, **first, content.substr(50000)).ok());
  CHECK(commitOn(queue, **second, content.size()).ok());
  CHECK(commitOn(queue, **first, content.size()).ok());
  CHECK(readAll(store, digest) == content);
  CHECK(listNow(store).value().size() == 1);
  CHECK(removeLeftoversNow(store).value() == 0);
}
