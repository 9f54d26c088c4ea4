#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <unistd.h>

#include <fstream>
#include <random>

#include "cache/file_blob_store.h"

using namespace regcache::cache;
namespace fs = std::filesystem;
using regcache::test::TempDir;

namespace {
Digest digestOf(const std::string &content) { return *parseDigest("sha256:" + sha256Hex(content)); }
} // namespace

TEST_CASE("a verified blob is committed where its digest says and reads back", "[cache][store]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  auto writer = store.create();
  REQUIRE(writer.ok());
  REQUIRE(writer.value()->write("hello ").ok());
  REQUIRE(writer.value()->write("world").ok());
  Digest digest = digestOf("hello world");
  REQUIRE(writer.value()->commit(digest, 11).ok());
  CHECK(store.contains(digest));
  CHECK(fs::exists(dir.path() / "blobs/sha256" / digest.hex.substr(0, 2) / digest.hex));
  auto fd = store.openForRead(digest);
  REQUIRE(fd.ok());
  char buf[32] = {};
  CHECK(::read(fd.value(), buf, sizeof buf) == 11);
  ::close(fd.value());
  CHECK(std::string(buf) == "hello world");
  CHECK(store.list() == std::vector<Digest>{digest});
  CHECK(fs::is_empty(dir.path() / "tmp"));
}

TEST_CASE("wrong bytes or a short body are never committed", "[cache][store]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  Digest digest = digestOf("the real content");
  {
    auto liar = store.create();
    REQUIRE(liar.ok());
    REQUIRE(liar.value()->write("other content").ok());
    auto committed = liar.value()->commit(digest, std::nullopt);
    REQUIRE_FALSE(committed.ok());
    CHECK(committed.failure().code == regcache::Error::kUpstream);
  }
  {
    auto shortBody = store.create();
    REQUIRE(shortBody.ok());
    REQUIRE(shortBody.value()->write("the real content").ok());
    CHECK_FALSE(shortBody.value()->commit(digest, 999).ok());
  }
  CHECK_FALSE(store.contains(digest));
  CHECK(fs::is_empty(dir.path() / "tmp")); // abandoned writers remove their temp files
  CHECK(store.openForRead(digest).failure().code == regcache::Error::kNotFound);
}

TEST_CASE("temp files left by a crash are removed at start-up", "[cache][store]") {
  TempDir dir;
  {
    FileBlobStore store(dir.path());
    std::ofstream(dir.path() / "tmp" / "fill-123") << "half a blob";
  }
  FileBlobStore again(dir.path());
  CHECK(again.removeLeftovers() == 1);
  CHECK(fs::is_empty(dir.path() / "tmp"));
}

TEST_CASE("removing a blob deletes its file", "[cache][store]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  auto writer = store.create();
  REQUIRE(writer.ok());
  REQUIRE(writer.value()->write("x").ok());
  Digest digest = digestOf("x");
  REQUIRE(writer.value()->commit(digest, 1).ok());
  REQUIRE(store.remove(digest).ok());
  CHECK_FALSE(store.contains(digest));
  CHECK(store.remove(digest).ok()); // idempotent
}
