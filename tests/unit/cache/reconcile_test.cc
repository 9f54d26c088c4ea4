#include <catch2/catch.hpp>

#include "base/sha256.h"
#include "temp_dir.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "base/oci/digest.h"
#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "cache/index.h"
#include "cache/reconcile.h"

using namespace regcache::cache;
using regcache::sha256Hex;
namespace fs = std::filesystem;
using regcache::test::TempDir;

namespace {
void writeFile(const fs::path &path, const std::string &content) { std::ofstream(path) << content; }
} // namespace

// The owner of the data dir may plant links; start-up cleanup (once run as root) must delete
// only the links themselves, never what they point to.
TEST_CASE("start-up cleanup never follows a symlink planted in tmp/ or blobs/",
          "[cache][reconcile]") {
  TempDir dir;
  fs::path data = dir.path() / "data", outside = dir.path() / "outside";
  fs::create_directories(outside);
  std::string victimHex = sha256Hex("victim");
  writeFile(outside / "victim", "victim");
  writeFile(outside / victimHex, "victim"); // named like a blob of the linked prefix dir
  { FileBlobStore store(data); }
  // tmp/ entry -> a file outside; a prefix directory -> a directory outside; a blob -> a file.
  fs::create_symlink(outside / "victim", data / "tmp" / "fill-1");
  fs::create_symlink(outside, data / "blobs/sha256" / victimHex.substr(0, 2));
  std::string otherHex = sha256Hex("other");
  fs::create_directories(data / "blobs/sha256" / otherHex.substr(0, 2));
  fs::create_symlink(outside / "victim", data / "blobs/sha256" / otherHex.substr(0, 2) / otherHex);

  FileBlobStore store(data);
  auto index = Index::open(data / "cache.db");
  REQUIRE(index.ok());
  CHECK(removeLeftoversNow(store).value() == 1); // the link itself
  CHECK_FALSE(fs::is_symlink(data / "tmp" / "fill-1"));
  auto report = reconcile(*index.value(), store);
  CHECK(report.orphanFiles == 0); // neither link is a blob
  auto other = *parseDigest("sha256:" + otherHex);
  CHECK_FALSE(statNow(store, other).ok());
  CHECK_FALSE(store.openReader(other, InlineCompletions::instance()).ok()); // never served
  (void)removeNow(store, *parseDigest("sha256:" + victimHex)); // refused: the prefix is a link

  CHECK(fs::exists(outside / "victim"));
  CHECK(fs::exists(outside / victimHex));
}

TEST_CASE("a store whose tmp/ or blobs/ is a symlink is refused, and nothing is swept",
          "[cache][reconcile]") {
  TempDir dir;
  fs::path outside = dir.path() / "outside";
  fs::create_directories(outside);
  writeFile(outside / "precious", "keep me");
  for (const char *linked : {"tmp", "blobs"}) {
    fs::path data = dir.path() / (std::string("data-") + linked);
    fs::create_directories(data);
    fs::create_symlink(outside, data / linked);
    CHECK_THROWS([&] {
      FileBlobStore store(data);
      (void)removeLeftoversNow(store);
      (void)listNow(store);
    }());
  }
  CHECK(fs::exists(outside / "precious"));
}
