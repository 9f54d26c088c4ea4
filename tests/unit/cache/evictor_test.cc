#include <catch2/catch.hpp>

#include "base/sha256.h"
#include "temp_dir.h"

#include <random>

#include "cache/blob_store_sync.h"
#include "cache/evictor.h"
#include "cache/file_blob_store.h"
#include "cache/fill_budget.h"
#include "cache/index.h"

using namespace regcache::cache;
using regcache::sha256Hex;
namespace fs = std::filesystem;
using regcache::test::TempDir;

namespace {

// Stores `content` in the store and the index, as a committed fill would.
void storeBlob(FileBlobStore &store, Index &index, const std::string &content) {
  auto digest = *parseDigest("sha256:" + sha256Hex(content));
  REQUIRE(putNow(store, digest, content).ok());
  auto now = std::chrono::system_clock::now();
  BlobRecord record{
      digest.toString(), content.size(), "application/octet-stream", false, now, now, 0};
  REQUIRE(index.putBlob(record, "r.test", "library/x").ok());
}
} // namespace

TEST_CASE("the evictor counts the bytes fills in flight have reserved", "[cache][eviction]") {
  TempDir dir;
  FileBlobStore store(dir.path());
  auto index = Index::open(dir.path() / "cache.db");
  REQUIRE(index.ok());
  storeBlob(store, *index.value(), std::string(400, 'a'));
  FillBudget budget(1000);
  Evictor evictor(dir.path() / "cache.db", store,
                  EvictionOptions{1000, std::chrono::hours(1), &budget});
  CHECK(evictor.evictOnce() == 0); // 400 of 1000
  auto inFlight = budget.reserve(700);
  REQUIRE(inFlight);
  CHECK(evictor.evictOnce() == 1); // 400 + 700 in flight: past the limit
  auto totals = index.value()->totals();
  REQUIRE(totals.ok());
  CHECK(totals->bytes == 0);
}
