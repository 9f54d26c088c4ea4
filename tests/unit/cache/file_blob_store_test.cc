// What the file store promises beyond the BlobStore contract (the conformance suite,
// blob_store_conformance_test.cc, checks that): where blobs go on disk, temp files under tmp/,
// and leftovers from a crash.
#include <catch2/catch.hpp>

#include "base/sha256.h"
#include "temp_dir.h"

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"

using namespace regcache::cache;
using regcache::sha256Hex;
namespace fs = std::filesystem;
using regcache::test::TempDir;

namespace {
Digest digestOf(const std::string &content) { return *parseDigest("sha256:" + sha256Hex(content)); }
} // namespace

TEST_CASE("a committed blob is a file where its digest says, and tmp/ is left empty",
          "[cache][store]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  Digest digest = digestOf("hello world");
  auto write = store.begin(digest, InlineCompletions::instance());
  REQUIRE(write.ok());
  CHECK_FALSE(fs::is_empty(dir.path() / "tmp")); // the write in progress lives under tmp/
  REQUIRE(appendNow(**write, "hello ").ok());
  REQUIRE(appendNow(**write, "world").ok());
  REQUIRE(commitNow(**write, 11).ok());
  fs::path file = dir.path() / "blobs/sha256" / digest.hex.substr(0, 2) / digest.hex;
  CHECK(fs::file_size(file) == 11);
  CHECK(fs::is_empty(dir.path() / "tmp"));
}

TEST_CASE("temp files left by a crash are removed at start-up", "[cache][store]") {
  TempDir dir;
  {
    FileBlobStore store(dir.path());
    std::ofstream(dir.path() / "tmp" / "fill-123") << "half a blob";
  }
  FileBlobStore again(dir.path());
  CHECK(removeLeftoversNow(again).value() == 1);
  CHECK(fs::is_empty(dir.path() / "tmp"));
}

TEST_CASE("a write abandoned or refused leaves no temp file", "[cache][store]") {
  TempDir dir;
  Digest digest = digestOf("the real content");
  {
    FileBlobStore store(dir.path());
    {
      auto write = store.begin(digest, InlineCompletions::instance());
      REQUIRE(write.ok());
      REQUIRE(appendNow(**write, "other content").ok());
      CHECK(commitNow(**write, std::nullopt).failure().code == regcache::Error::kUpstream);
    }
    { auto abandoned = store.begin(digest, InlineCompletions::instance()); }
  } // the store runs its queued I/O (the abandoned write's removal) before it goes
  CHECK(fs::is_empty(dir.path() / "tmp"));
  CHECK(fs::is_empty(dir.path() / "blobs/sha256"));
}

namespace {

// Descriptors this process has open on `file`, whether still linked or removed ("(deleted)").
int descriptorsOn(const fs::path &file) {
  int count = 0;
  for (const auto &entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec).string();
    if (!ec && (target == file.string() || target == file.string() + " (deleted)")) ++count;
  }
  return count;
}

fs::path blobPath(const TempDir &dir, const Digest &digest) {
  return dir.path() / "blobs/sha256" / digest.hex.substr(0, 2) / digest.hex;
}

std::string readWhole(BlobStore &store, const Digest &digest) {
  auto reader = store.openReader(digest, InlineCompletions::instance());
  REQUIRE(reader.ok());
  auto bytes = readNow(**reader, 0, 1 << 16);
  REQUIRE(bytes.ok());
  return bytes.value();
}

// Polls `done` every 10 ms for up to 5 s.
template <class F> bool eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

} // namespace

TEST_CASE("a blob read once keeps its descriptor open for the next reads, and only its own",
          "[cache][store][descriptors]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  Digest first = digestOf("first blob"), second = digestOf("second blob");
  REQUIRE(putNow(store, first, "first blob").ok());
  REQUIRE(putNow(store, second, "second blob").ok());
  CHECK(readWhole(store, first) == "first blob");
  CHECK(readWhole(store, second) == "second blob");
  // Every reader is gone; the store still holds one descriptor per blob, never shared (the
  // writes' own descriptors close on the pool, soon after their commit).
  CHECK(eventually([&] { return descriptorsOn(blobPath(dir, first)) == 1; }));
  CHECK(eventually([&] { return descriptorsOn(blobPath(dir, second)) == 1; }));
  for (int i = 0; i < 3; ++i) {
    CHECK(readWhole(store, first) == "first blob");
    CHECK(readWhole(store, second) == "second blob");
  }
  CHECK(descriptorsOn(blobPath(dir, first)) == 1);
  CHECK(store.keptDescriptors() == 2);
}

TEST_CASE("the kept descriptors are bounded in count, the least recently read closed first",
          "[cache][store][descriptors]") {
  TempDir dir;
  FileBlobStoreOptions options;
  options.keptDescriptors = 4;
  FileBlobStore store(dir.path(), options);
  std::vector<Digest> digests;
  for (int i = 0; i < 10; ++i) {
    std::string content = "blob number " + std::to_string(i);
    digests.push_back(digestOf(content));
    REQUIRE(putNow(store, digests.back(), content).ok());
    CHECK(readWhole(store, digests.back()) == content);
  }
  CHECK(store.keptDescriptors() == 4);
  auto open = [&] {
    int count = 0;
    for (const auto &digest : digests)
      count += descriptorsOn(blobPath(dir, digest));
    return count;
  };
  CHECK(eventually([&] { return open() == 4; }));
  CHECK(descriptorsOn(blobPath(dir, digests.front())) == 0);
  CHECK(descriptorsOn(blobPath(dir, digests.back())) == 1);
}

TEST_CASE("a blob the store removes (eviction) closes its kept descriptor at once",
          "[cache][store][descriptors]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  Digest digest = digestOf("evicted soon");
  REQUIRE(putNow(store, digest, "evicted soon").ok());
  CHECK(readWhole(store, digest) == "evicted soon");
  fs::path file = blobPath(dir, digest);
  REQUIRE(eventually([&] { return descriptorsOn(file) == 1; }));
  REQUIRE(removeNow(store, digest).ok());
  CHECK(descriptorsOn(file) == 0); // its disk space is free: no descriptor holds the inode
  auto reader = store.openReader(digest, InlineCompletions::instance());
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.failure().code == regcache::Error::kNotFound);
}

TEST_CASE("a blob removed by another process (cache rm) is no longer served, and its kept "
          "descriptor is closed even if nobody asks for it again",
          "[cache][store][descriptors]") {
  TempDir dir;
  FileBlobStoreOptions options;
  options.keptDescriptorSweep = std::chrono::milliseconds(20);
  FileBlobStore server(dir.path(), options);
  Digest asked = digestOf("asked again"), forgotten = digestOf("never asked again");
  REQUIRE(putNow(server, asked, "asked again").ok());
  REQUIRE(putNow(server, forgotten, "never asked again").ok());
  CHECK(readWhole(server, asked) == "asked again");
  CHECK(readWhole(server, forgotten) == "never asked again");
  fs::path forgottenFile = blobPath(dir, forgotten);
  REQUIRE(eventually([&] { return descriptorsOn(forgottenFile) == 1; }));
  {
    FileBlobStore cli(dir.path(), FileBlobStoreOptions{1, true, 0}); // `regcache cache rm`
    REQUIRE(removeNow(cli, asked).ok());
    REQUIRE(removeNow(cli, forgotten).ok());
  }
  auto reader = server.openReader(asked, InlineCompletions::instance());
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.failure().code == regcache::Error::kNotFound);
  CHECK(eventually([&] { return descriptorsOn(forgottenFile) == 0; }));
  CHECK(server.keptDescriptors() == 0);
}

TEST_CASE("a blob replaced on disk is read from the new file, not the kept descriptor",
          "[cache][store][descriptors]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  Digest digest = digestOf("the old file");
  REQUIRE(putNow(store, digest, "the old file").ok());
  CHECK(readWhole(store, digest) == "the old file");
  fs::path file = blobPath(dir, digest);
  std::ofstream(dir.path() / "replacement") << "the new file";
  fs::rename(dir.path() / "replacement", file); // the old inode loses its last link
  CHECK(readWhole(store, digest) == "the new file");
  CHECK(eventually([&] { return descriptorsOn(file) == 1; })); // the new one; the old closed
}

TEST_CASE("a blob replaced by a symlink is not served through the kept descriptor",
          "[cache][store][descriptors]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  Digest digest = digestOf("a real blob");
  REQUIRE(putNow(store, digest, "a real blob").ok());
  CHECK(readWhole(store, digest) == "a real blob");
  fs::path file = blobPath(dir, digest);
  std::ofstream(dir.path() / "elsewhere") << "a real blob";
  fs::create_symlink(dir.path() / "elsewhere", dir.path() / "link");
  fs::rename(dir.path() / "link", file);
  CHECK_FALSE(store.openReader(digest, InlineCompletions::instance()).ok());
}

TEST_CASE("a write lends its stored bytes: bounded by what is stored, past the commit and a "
          "removal, and none once it is refused",
          "[cache][store]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  std::string content = "the bytes a tier behind uploads";
  Digest digest = digestOf(content);
  std::vector<char> buffer(64);
  auto readAt = [&](const StoredBytes &bytes, std::uint64_t offset) -> std::string {
    auto n = bytes.readAt(offset, std::span<char>(buffer.data(), buffer.size()));
    REQUIRE(n.ok());
    return std::string(buffer.data(), *n);
  };
  SECTION("committed, then removed") {
    auto write = store.begin(digest, InlineCompletions::instance());
    REQUIRE(write.ok());
    std::shared_ptr<const StoredBytes> bytes = (*write)->storedBytes();
    REQUIRE(bytes);
    CHECK(readAt(*bytes, 0).empty()); // nothing stored yet
    REQUIRE(appendNow(**write, content.substr(0, 9)).ok());
    CHECK(readAt(*bytes, 0) == "the bytes"); // never past what is stored
    CHECK(readAt(*bytes, 4) == "bytes");
    REQUIRE(appendNow(**write, content.substr(9)).ok());
    REQUIRE(commitNow(**write, content.size()).ok());
    write->reset();
    REQUIRE(removeNow(store, digest).ok());
    CHECK(readAt(*bytes, 0) == content); // the descriptor keeps them until the copy is done
    CHECK(readAt(*bytes, content.size()).empty());
  }
  SECTION("refused at commit") {
    auto write = store.begin(digestOf("something else"), InlineCompletions::instance());
    REQUIRE(write.ok());
    std::shared_ptr<const StoredBytes> bytes = (*write)->storedBytes();
    REQUIRE(appendNow(**write, content).ok());
    CHECK_FALSE(commitNow(**write, content.size()).ok());
    auto n = bytes->readAt(0, std::span<char>(buffer.data(), buffer.size()));
    REQUIRE_FALSE(n.ok());
    CHECK(n.failure().code == regcache::Error::kNotFound);
  }
}
