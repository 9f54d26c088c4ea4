#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <thread>

#include <sqlite3.h>

#include "cache/index.h"
#include "cache/index_view.h"
#include "cache/index_writer.h"
#include "temp_dir.h"

using namespace regcache::cache;
using namespace std::chrono_literals;

namespace {
BlobRecord blob(const std::string &digest, std::uint64_t size) {
  TimePoint at(std::chrono::seconds(1700000000));
  return BlobRecord{digest, size, "application/octet-stream", false, at, at, 0};
}
std::unique_ptr<Index> openIndex(const regcache::test::TempDir &dir) {
  auto index = Index::open(dir.path() / "cache.db");
  REQUIRE(index.ok());
  return std::move(index.value());
}
TagRecord tag(const std::string &name, const std::string &digest) {
  return TagRecord{"r.io",
                   "lib/app",
                   name,
                   "a,b",
                   digest,
                   "application/json",
                   TimePoint(std::chrono::seconds(1700000000))};
}
} // namespace

TEST_CASE("the view loads blobs, sources and tags from the index", "[cache][index_view]") {
  regcache::test::TempDir dir;
  auto index = openIndex(dir);
  REQUIRE(index->putBlob(blob("sha256:aa", 10), "r.io", "lib/app", false).ok());
  REQUIRE(index->putBlob(blob("sha256:aa", 10), "r.io", "lib/other", true).ok());
  REQUIRE(index->putBlob(blob("sha256:bb", 5), "s.io", "x", true).ok());
  REQUIRE(index->putTag(tag("v1", "sha256:aa")).ok());
  IndexView view;
  REQUIRE(view.load(*index).ok());
  auto aa = view.findBlob("sha256:aa");
  REQUIRE(aa);
  CHECK(aa->record.size == 10);
  CHECK(aa->servedAtRegistry("r.io"));
  CHECK_FALSE(aa->servedAtRegistry("s.io"));
  CHECK(aa->servedUnder("r.io", "lib/app", false));
  CHECK_FALSE(aa->servedUnder("r.io", "lib/app", true));
  CHECK(aa->servedUnder("r.io", "lib/other", true));
  CHECK_FALSE(view.findBlob("sha256:cc"));
  auto v1 = view.findTag("r.io", "lib/app", "v1", "a,b");
  REQUIRE(v1);
  CHECK(v1->digest == "sha256:aa");
  CHECK_FALSE(view.findTag("r.io", "lib/app", "v1", "a"));
  CHECK(view.totals().blobs == 2);
  CHECK(view.totals().bytes == 15);
  CHECK(view.listRepositories(false) ==
        std::vector<std::string>{"r.io/lib/app", "r.io/lib/other", "s.io/x"});
  CHECK(view.listRepositories(true) == std::vector<std::string>{"r.io/lib/other", "s.io/x"});
}

TEST_CASE("the view's changes follow the index's rules", "[cache][index_view]") {
  IndexView view;
  view.putBlob(blob("sha256:aa", 10), {"r.io", "lib/app", true});
  // Once anonymous, always.
  view.putBlob(blob("sha256:aa", 10), {"r.io", "lib/app", false});
  CHECK(view.findBlob("sha256:aa")->servedUnder("r.io", "lib/app", true));
  view.putBlob(blob("sha256:aa", 10), {"r.io", "lib/private", false});
  CHECK_FALSE(view.findBlob("sha256:aa")->servedUnder("r.io", "lib/private", true));
  view.markRepositoryPublic("r.io", "lib/private");
  CHECK(view.findBlob("sha256:aa")->servedUnder("r.io", "lib/private", true));
  CHECK(view.totals().bytes == 10);
  view.removeBlob("sha256:aa");
  CHECK_FALSE(view.findBlob("sha256:aa"));
  CHECK(view.totals().blobs == 0);
  CHECK(view.totals().bytes == 0);
}

TEST_CASE("a new blob reaches the view only once its row is written", "[cache][index_writer]") {
  regcache::test::TempDir dir;
  IndexView view;
  IndexWriter writer(openIndex(dir), view);
  // Not started yet: nothing is written, so the view must not have it either.
  bool called = false;
  writer.putBlob(blob("sha256:aa", 10), {"r.io", "lib/app", true}, tag("v1", "sha256:aa"),
                 [&](regcache::Result<void> r) { called = r.ok(); });
  CHECK_FALSE(view.findBlob("sha256:aa"));
  CHECK_FALSE(view.findTag("r.io", "lib/app", "v1", "a,b"));
  writer.start();
  writer.flush();
  CHECK(called);
  CHECK(view.findBlob("sha256:aa"));
  CHECK(view.findTag("r.io", "lib/app", "v1", "a,b"));
  auto index = openIndex(dir);
  auto found = index->findBlob("sha256:aa");
  REQUIRE(found.ok());
  CHECK(found.value());
  CHECK(index->findTag("r.io", "lib/app", "v1", "a,b").value());
}

TEST_CASE("the writer batches hits, sources, tags and removals into the file",
          "[cache][index_writer]") {
  regcache::test::TempDir dir;
  {
    auto index = openIndex(dir);
    REQUIRE(index->putBlob(blob("sha256:aa", 10), "r.io", "lib/app", false).ok());
    REQUIRE(index->putBlob(blob("sha256:bb", 10), "r.io", "lib/app", false).ok());
  }
  IndexView view;
  {
    auto index = openIndex(dir);
    REQUIRE(view.load(*index).ok());
  }
  IndexWriter writer(openIndex(dir), view, IndexWriter::Options{1h, 3, 10ms});
  writer.start();
  TimePoint later(std::chrono::seconds(1800000000));
  for (int i = 0; i < 5; ++i)
    writer.recordHit("sha256:aa", later);
  writer.addSource(blob("sha256:aa", 10), {"r.io", "lib/more", false});
  writer.putTag(tag("v2", "sha256:aa"));
  writer.markRepositoryPublic("r.io", "lib/app");
  writer.removeBlob("sha256:bb");
  // The view has every change at once (only new blobs wait for their row).
  CHECK(view.findBlob("sha256:aa")->servedUnder("r.io", "lib/more", false));
  CHECK(view.findBlob("sha256:aa")->servedUnder("r.io", "lib/app", true));
  CHECK(view.findTag("r.io", "lib/app", "v2", "a,b"));
  CHECK_FALSE(view.findBlob("sha256:bb"));
  // A flush writes hits too, without waiting out the hour they would otherwise gather for.
  writer.flush();
  auto index = openIndex(dir);
  auto aa = index->findBlob("sha256:aa");
  REQUIRE(aa.value());
  CHECK(aa.value()->hits == 5);
  CHECK(aa.value()->lastAccess == later);
  CHECK(index->servedUnder("sha256:aa", "r.io", "lib/more").value());
  CHECK(index->servedUnder("sha256:aa", "r.io", "lib/app", true).value());
  CHECK(index->findTag("r.io", "lib/app", "v2", "a,b").value());
  CHECK_FALSE(index->findBlob("sha256:bb").value());
}

TEST_CASE("a batch waits out another connection's write lock instead of losing it",
          "[cache][index_writer]") {
  regcache::test::TempDir dir;
  IndexView view;
  IndexWriter writer(openIndex(dir), view);
  writer.start();
  auto other = openIndex(dir);
  // BEGIN IMMEDIATE through a second connection, held for a while on another thread.
  sqlite3 *raw = nullptr;
  REQUIRE(sqlite3_open((dir.path() / "cache.db").c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> lock(raw, &sqlite3_close);
  REQUIRE(sqlite3_exec(lock.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  bool ok = false;
  writer.putBlob(blob("sha256:aa", 10), {"r.io", "lib/app", true}, std::nullopt,
                 [&](regcache::Result<void> r) { ok = r.ok(); });
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(view.findBlob("sha256:aa")); // not written yet: not served yet
  REQUIRE(sqlite3_exec(lock.get(), "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  writer.flush();
  CHECK(ok);
  CHECK(view.findBlob("sha256:aa"));
  CHECK(other->findBlob("sha256:aa").value());
}

TEST_CASE("changes handed to a stopped writer are refused, not lost silently",
          "[cache][index_writer]") {
  regcache::test::TempDir dir;
  IndexView view;
  IndexWriter writer(openIndex(dir), view);
  writer.start();
  writer.stop();
  bool failed = false;
  writer.putBlob(blob("sha256:aa", 10), {"r.io", "lib/app", true}, std::nullopt,
                 [&](regcache::Result<void> r) { failed = !r.ok(); });
  CHECK(failed);
  writer.flush(); // returns at once
}
