// The tiered store (cache/tiered_blob_store.h) with two FileBlobStores, the remote one behind a
// fault-injecting wrapper: uploads after the local commit, local hits that never touch the
// bucket, bucket reads that verify and warm, and a bucket that is down, refuses, or lies.
#include <catch2/catch.hpp>

#include "base/sha256.h"
#include "faulty_blob_store.h"
#include "manual_completions.h"
#include "temp_dir.h"

#include <chrono>
#include <fstream>
#include <thread>

#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "cache/tiered_blob_store.h"

using namespace regcache::cache;
using regcache::Error;
using regcache::Result;
using regcache::sha256Hex;
using regcache::test::FaultyBlobStore;
using regcache::test::ManualCompletions;
using regcache::test::TempDir;

namespace {

Digest digestOf(const std::string &content) { return *parseDigest("sha256:" + sha256Hex(content)); }

struct Fleet {
  TempDir dir;
  std::shared_ptr<FileBlobStore> bucketFiles =
      std::make_shared<FileBlobStore>(dir.path() / "bucket");
  std::shared_ptr<FaultyBlobStore> bucket = std::make_shared<FaultyBlobStore>(bucketFiles);
  std::shared_ptr<FileBlobStore> localA = std::make_shared<FileBlobStore>(dir.path() / "a");
  std::shared_ptr<FileBlobStore> localB = std::make_shared<FileBlobStore>(dir.path() / "b");
  TieredBlobStore hostA{localA, bucket};
  TieredBlobStore hostB{localB, bucket};

  std::filesystem::path bucketPath(const Digest &digest) {
    return dir.path() / "bucket" / "blobs" / "sha256" / digest.hex.substr(0, 2) / digest.hex;
  }
};

// Waits (bounded) for `condition`, polled: the upload is completed behind the fill.
bool eventually(const std::function<bool()> &condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Reads a blob in chunks on `queue` until the end or a failure: what was delivered, and how it
// ended.
struct ReadOutcome {
  std::string bytes;
  std::optional<regcache::Failure> failure;
};
ReadOutcome readThrough(ManualCompletions &queue, BlobReader &reader, std::uint64_t size) {
  ReadOutcome out;
  for (int i = 0; i < 10000 && out.bytes.size() < size; ++i) {
    std::optional<Result<std::span<const char>>> got;
    reader.read(out.bytes.size(), 4096, [&](Result<std::span<const char>> bytes) {
      got = bytes;
      if (bytes.ok()) out.bytes.append(bytes->data(), bytes->size());
    });
    REQUIRE(queue.runUntil([&] { return got.has_value(); }));
    if (!got->ok()) {
      out.failure = got->failure();
      break;
    }
    if (got->value().empty()) break;
  }
  return out;
}

} // namespace

TEST_CASE("tiered: a fill commits locally and its upload completes in the bucket after",
          "[tiered]") {
  Fleet fleet;
  ManualCompletions queue;
  std::string content(300000, 'f');
  Digest digest = digestOf(content);
  auto write = fleet.hostA.begin(digest, queue);
  REQUIRE(write.ok());
  std::optional<Result<void>> committed;
  (*write)->append(content, [](Result<void> stored) { REQUIRE(stored.ok()); });
  (*write)->commit(content.size(), [&](Result<void> result) { committed = result; });
  REQUIRE(queue.runUntil([&] { return committed.has_value(); }));
  REQUIRE(committed->ok());
  write->reset(); // the upload finishes without its write
  CHECK(statNow(*fleet.localA, digest).ok());
  CHECK(eventually([&] { return statNow(*fleet.bucketFiles, digest).ok(); }));
  CHECK(eventually([&] { return fleet.hostA.counters().uploadsCompleted.load() == 1; }));
  CHECK(fleet.hostA.counters().bytesWritten.load() == content.size());
}

TEST_CASE("tiered: a local hit never touches the bucket", "[tiered]") {
  Fleet fleet;
  std::string content = "already here";
  Digest digest = digestOf(content);
  REQUIRE(putNow(*fleet.localA, digest, content).ok());
  auto reader = fleet.hostA.openReader(digest, InlineCompletions::instance());
  REQUIRE(reader.ok());
  CHECK(readNow(**reader, 0, 100).value() == content);
  CHECK(statNow(fleet.hostA, digest).ok());
  CHECK(fleet.bucket->opens.load() == 0);
  CHECK(fleet.bucket->stats.load() == 0);
}

TEST_CASE("tiered: what host A filled, host B streams from the bucket, verified, and keeps",
          "[tiered]") {
  Fleet fleet;
  ManualCompletions queue;
  std::string content(200000, 'b');
  content += "end";
  Digest digest = digestOf(content);
  REQUIRE(putNow(fleet.hostA, digest, content).ok());
  REQUIRE(eventually([&] { return statNow(*fleet.bucketFiles, digest).ok(); }));
  CHECK_FALSE(statNow(*fleet.localB, digest).ok());
  auto info = statNow(fleet.hostB, digest); // local miss, then the bucket
  REQUIRE(info.ok());
  CHECK(info->size == content.size());
  auto reader = fleet.hostB.openReader(digest, queue);
  REQUIRE(reader.ok());
  ReadOutcome got = readThrough(queue, **reader, content.size());
  CHECK_FALSE(got.failure);
  CHECK(got.bytes == content);
  // The last bytes went out only after the local tier committed the verified blob.
  CHECK(readAllNow(*fleet.localB, digest, content.size()).value() == content);
  CHECK(fleet.hostB.counters().hits.load() == 1);
  CHECK(fleet.hostB.counters().bytesRead.load() == content.size());
  int opensBefore = fleet.bucket->opens.load();
  reader->reset();
  auto again = fleet.hostB.openReader(digest, queue); // now a local hit
  REQUIRE(again.ok());
  CHECK(fleet.bucket->opens.load() == opensBefore);
}

TEST_CASE("tiered: wrong bytes in the bucket fail the read before its last byte and are removed",
          "[tiered]") {
  Fleet fleet;
  ManualCompletions queue;
  std::string content(100000, 'r');
  Digest digest = digestOf(content);
  REQUIRE(putNow(*fleet.bucketFiles, digest, content).ok());
  SECTION("overwritten in place with as many wrong bytes") {
    std::ofstream(fleet.bucketPath(digest), std::ios::binary | std::ios::trunc)
        << std::string(content.size(), 'w');
  }
  SECTION("flipped on the way") { fleet.bucket->corruptReads = true; }
  auto reader = fleet.hostB.openReader(digest, queue);
  REQUIRE(reader.ok());
  ReadOutcome got = readThrough(queue, **reader, content.size());
  REQUIRE(got.failure);
  CHECK(got.failure->code == Error::kUpstream);
  CHECK(got.bytes.size() < content.size()); // never a complete body
  CHECK(eventually([&] { return !statNow(*fleet.bucketFiles, digest).ok(); }));
  CHECK_FALSE(statNow(*fleet.localB, digest).ok()); // nothing unverified is kept
  CHECK(fleet.hostB.counters().mismatches.load() == 1);
  reader->reset();
}

TEST_CASE("tiered: a bucket that is down never fails a write or a local read", "[tiered]") {
  Fleet fleet;
  fleet.bucket->down = true;
  std::string content = "written while the bucket was down";
  Digest digest = digestOf(content);
  REQUIRE(putNow(fleet.hostA, digest, content).ok());
  CHECK(readAllNow(fleet.hostA, digest, content.size()).value() == content);
  Digest absentDigest = digestOf("nowhere");
  CHECK_FALSE(statNow(fleet.hostA, absentDigest).ok());
  CHECK_FALSE(fleet.hostA.openReader(absentDigest, InlineCompletions::instance()).ok());
  CHECK(listNow(fleet.hostA).value().size() == 1);
  CHECK(fleet.hostA.counters().fallbacks.load() >= 3);
  CHECK(fleet.hostA.counters().errors.load() >= 3);
  CHECK_FALSE(statNow(*fleet.bucketFiles, digest).ok());
}

TEST_CASE("tiered: an upload that fails never fails the fill, and leaves nothing in the bucket",
          "[tiered]") {
  Fleet fleet;
  SECTION("at commit") { fleet.bucket->failCommits = true; }
  SECTION("at an append") { fleet.bucket->failAppends = true; }
  std::string content(70000, 'u');
  Digest digest = digestOf(content);
  REQUIRE(putNow(fleet.hostA, digest, content).ok());
  CHECK(readAllNow(*fleet.localA, digest, content.size()).value() == content);
  CHECK(eventually([&] { return fleet.hostA.counters().uploadsAborted.load() == 1; }));
  CHECK_FALSE(statNow(*fleet.bucketFiles, digest).ok());
  CHECK(fleet.hostA.counters().uploadsCompleted.load() == 0);
}

TEST_CASE("tiered: a fill that fails its digest uploads nothing either", "[tiered]") {
  Fleet fleet;
  Digest digest = digestOf("the real bytes");
  auto write = fleet.hostA.begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  REQUIRE(appendNow(**write, "other bytes!!!").ok());
  auto committed = commitNow(**write, std::nullopt);
  REQUIRE_FALSE(committed.ok());
  CHECK(committed.failure().code == Error::kUpstream);
  CHECK_FALSE(statNow(*fleet.bucketFiles, digest).ok());
  CHECK(removeLeftoversNow(*fleet.bucketFiles).value() == 0); // discarded before the answer
}
