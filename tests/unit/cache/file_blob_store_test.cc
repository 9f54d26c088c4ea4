// What the file store promises beyond the BlobStore contract (the conformance suite,
// blob_store_conformance_test.cc, checks that): where blobs go on disk, temp files under tmp/,
// and leftovers from a crash.
#include <catch2/catch.hpp>

#include "base/sha256.h"
#include "temp_dir.h"

#include <fstream>

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
