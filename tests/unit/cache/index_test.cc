#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <random>
#include <thread>

#include "cache/index.h"

using namespace regcache::cache;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
struct TempDb {
  fs::path dir;
  fs::path path;
  TempDb() {
    std::random_device random;
    dir = fs::temp_directory_path() / ("regcache-index-" + std::to_string(random()));
    fs::create_directories(dir);
    path = dir / "cache.db";
  }
  ~TempDb() { fs::remove_all(dir); }
};
BlobRecord blob(const std::string &digest, std::uint64_t size, TimePoint at) {
  return BlobRecord{digest, size, "application/octet-stream", false, at, at, 0};
}
TimePoint t(int seconds) { return TimePoint(std::chrono::seconds(1700000000 + seconds)); }
} // namespace

TEST_CASE("a new index is created at the current schema version in WAL mode", "[cache][index]") {
  TempDb db;
  auto index = Index::open(db.path);
  REQUIRE(index.ok());
  CHECK(index.value()->schemaVersion() == Index::kSchemaVersion);
  CHECK(fs::exists(db.dir / "cache.db-wal"));
  index.value().reset();
  auto again = Index::open(db.path); // migrating an up-to-date file is a no-op
  REQUIRE(again.ok());
  CHECK(again.value()->schemaVersion() == Index::kSchemaVersion);
}

TEST_CASE("an index written by a newer regcache is refused, not damaged", "[cache][index]") {
  TempDb db;
  {
    sqlite3 *raw = nullptr;
    sqlite3_open(db.path.c_str(), &raw);
    sqlite3_exec(raw, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  auto index = Index::open(db.path);
  REQUIRE_FALSE(index.ok());
  CHECK(index.failure().detail.find("newer") != std::string::npos);
}

TEST_CASE("blobs record where they were served from", "[cache][index]") {
  TempDb db;
  auto index = std::move(Index::open(db.path).value());
  REQUIRE(index->putBlob(blob("sha256:aa", 100, t(0)), "r.test", "library/alpine").ok());
  REQUIRE(index->putBlob(blob("sha256:aa", 100, t(5)), "r.test", "team/private").ok());
  auto found = index->findBlob("sha256:aa");
  REQUIRE(found.ok());
  REQUIRE(found.value());
  CHECK(found.value()->size == 100);
  CHECK(found.value()->createdAt == t(0)); // the first record wins
  CHECK(index->servedUnder("sha256:aa", "r.test", "team/private").value());
  CHECK_FALSE(index->servedUnder("sha256:aa", "other.test", "library/alpine").value());
  CHECK_FALSE(index->findBlob("sha256:bb").value());
  CHECK(index->listRepositories().value() ==
        std::vector<std::string>{"r.test/library/alpine", "r.test/team/private"});
}

TEST_CASE("a digest is served at a registry if under any of its repositories", "[cache][index]") {
  TempDb db;
  auto index = std::move(Index::open(db.path).value());
  REQUIRE(index->putBlob(blob("sha256:aa", 1, t(0)), "r.test", "team/private", false).ok());
  CHECK(index->servedAtRegistry("sha256:aa", "r.test").value());
  CHECK_FALSE(index->servedAtRegistry("sha256:aa", "other.test").value());
  CHECK_FALSE(index->servedAtRegistry("sha256:bb", "r.test").value());
}

TEST_CASE("the public catalog lists only repositories with content served anonymously",
          "[cache][index]") {
  TempDb db;
  auto index = std::move(Index::open(db.path).value());
  REQUIRE(index->putBlob(blob("sha256:aa", 1, t(0)), "r", "library/alpine", true).ok());
  REQUIRE(index->putBlob(blob("sha256:aa", 1, t(0)), "r", "team/private", false).ok());
  CHECK(index->listRepositories(true).value() == std::vector<std::string>{"r/library/alpine"});
  CHECK(index->listRepositories().value() ==
        std::vector<std::string>{"r/library/alpine", "r/team/private"});
  REQUIRE(index->markRepositoryPublic("r", "team/private").ok());
  CHECK(index->listRepositories(true).value().size() == 2);
}

TEST_CASE("a repository found public makes what was served under it anonymous", "[cache][index]") {
  TempDb db;
  auto index = std::move(Index::open(db.path).value());
  REQUIRE(index->putBlob(blob("sha256:aa", 1, t(0)), "r", "library/alpine", false).ok());
  REQUIRE(index->putBlob(blob("sha256:bb", 1, t(0)), "r", "library/alpine", false).ok());
  REQUIRE(index->putBlob(blob("sha256:aa", 1, t(0)), "r", "team/private", false).ok());
  CHECK_FALSE(index->servedUnder("sha256:aa", "r", "library/alpine", true).value());
  REQUIRE(index->markRepositoryPublic("r", "library/alpine").ok());
  CHECK(index->servedUnder("sha256:aa", "r", "library/alpine", true).value());
  CHECK(index->servedUnder("sha256:bb", "r", "library/alpine", true).value());
  // Only that repository: the same digest under a private one stays private.
  CHECK_FALSE(index->servedUnder("sha256:aa", "r", "team/private", true).value());
}

TEST_CASE("hits move a blob to the back of the eviction order", "[cache][index]") {
  TempDb db;
  auto index = std::move(Index::open(db.path).value());
  REQUIRE(index->putBlob(blob("sha256:old", 10, t(0)), "r", "a").ok());
  REQUIRE(index->putBlob(blob("sha256:new", 20, t(10)), "r", "a").ok());
  REQUIRE(index->recordHit("sha256:old", t(20)).ok());
  auto order = index->leastRecentlyUsed(10).value();
  REQUIRE(order.size() == 2);
  CHECK(order[0].digest == "sha256:new");
  CHECK(order[1].digest == "sha256:old");
  CHECK(order[1].hits == 1);
  auto totals = index->totals().value();
  CHECK(totals.blobs == 2);
  CHECK(totals.bytes == 30);
  CHECK(totals.hits == 1);
  REQUIRE(index->removeBlob("sha256:new").ok());
  CHECK(index->totals().value().blobs == 1);
  CHECK(index->allDigests().value() == std::vector<std::string>{"sha256:old"});
  // Sources go with their blob.
  CHECK_FALSE(index->servedUnder("sha256:new", "r", "a").value());
}

TEST_CASE("tags map to a digest per accepted media types and can move", "[cache][index]") {
  TempDb db;
  auto index = std::move(Index::open(db.path).value());
  TagRecord tag{"r.test",    "library/alpine", "3.19",
                "oci-index", "sha256:one",     "application/vnd.oci.image.index.v1+json",
                t(0)};
  REQUIRE(index->putTag(tag).ok());
  tag.digest = "sha256:two";
  tag.checkedAt = t(60);
  REQUIRE(index->putTag(tag).ok());
  auto found = index->findTag("r.test", "library/alpine", "3.19", "oci-index").value();
  REQUIRE(found);
  CHECK(found->digest == "sha256:two");
  CHECK(found->checkedAt == t(60));
  CHECK_FALSE(index->findTag("r.test", "library/alpine", "3.19", "docker-v2").value());
  CHECK(index->listTags().value().size() == 1);
}

TEST_CASE("connections on several threads share the index", "[cache][index]") {
  TempDb db;
  REQUIRE(Index::open(db.path).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      auto index = Index::open(db.path);
      if (!index.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < 50; ++i) {
        std::string digest = "sha256:" + std::to_string(w) + "-" + std::to_string(i);
        if (!index.value()->putBlob(blob(digest, 1, t(i)), "r", "a").ok()) ++failures;
        if (!index.value()->recordHit(digest, t(i + 1)).ok()) ++failures;
      }
    });
  }
  for (auto &th : threads)
    th.join();
  CHECK(failures == 0);
  CHECK(Index::open(db.path).value()->totals().value().blobs == 200);
}

TEST_CASE("a version 1 file is migrated to the current schema with its rows kept",
          "[cache][index]") {
  TempDb db;
  {
    // The schema regcache 0.1 wrote, with one blob in it.
    sqlite3 *raw = nullptr;
    sqlite3_open(db.path.c_str(), &raw);
    const char *v1 = R"sql(
CREATE TABLE blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL,
  media_type TEXT NOT NULL DEFAULT '', manifest INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, last_access INTEGER NOT NULL, hits INTEGER NOT NULL DEFAULT 0);
CREATE INDEX blobs_by_access ON blobs(last_access);
CREATE TABLE blob_sources (digest TEXT NOT NULL REFERENCES blobs(digest) ON DELETE CASCADE,
  registry TEXT NOT NULL, repository TEXT NOT NULL, PRIMARY KEY (digest, registry, repository));
CREATE TABLE tags (registry TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,
  accept TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
  checked_at INTEGER NOT NULL, PRIMARY KEY (registry, repository, tag, accept));
INSERT INTO blobs VALUES ('sha256:aa', 5, 'x', 0, 1700000000, 1700000000, 3);
INSERT INTO blob_sources VALUES ('sha256:aa', 'r', 'a');
PRAGMA user_version=1;
)sql";
    REQUIRE(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  auto index = Index::open(db.path);
  REQUIRE(index.ok());
  CHECK(index.value()->schemaVersion() == Index::kSchemaVersion);
  auto kept = index.value()->findBlob("sha256:aa");
  REQUIRE(kept.ok());
  REQUIRE(kept.value());
  CHECK(kept.value()->hits == 3);
  CHECK(index.value()->servedUnder("sha256:aa", "r", "a", true).value());
  CHECK(index.value()->addCounters({{"cache_hits", 1}}).ok());
  // Content cached before version 3 was fetched without credentials.
  REQUIRE(index.value()->putBlob(blob("sha256:bb", 1, t(0)), "r", "a").ok());
  CHECK(index.value()->servedUnder("sha256:bb", "r", "a", true).value());
}

TEST_CASE("counters add up across flushes and connections", "[cache][index]") {
  TempDb db;
  auto first = Index::open(db.path);
  auto second = Index::open(db.path);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  REQUIRE(first.value()->addCounters({{"cache_hits", 2}, {"bytes_from_cache", 100}}).ok());
  REQUIRE(second.value()->addCounters({{"cache_hits", 3}}).ok());
  auto values = first.value()->counters();
  REQUIRE(values.ok());
  CHECK(values.value() ==
        std::map<std::string, std::uint64_t>{{"bytes_from_cache", 100}, {"cache_hits", 5}});
}

TEST_CASE("forgetting a repository removes only blobs no other repository was served",
          "[cache][index]") {
  TempDb db;
  auto opened = Index::open(db.path);
  REQUIRE(opened.ok());
  Index &index = *opened.value();
  REQUIRE(index.putBlob(blob("sha256:own", 10, t(0)), "r.io", "team/app").ok());
  REQUIRE(index.putBlob(blob("sha256:shared", 20, t(0)), "r.io", "team/app").ok());
  REQUIRE(index.putBlob(blob("sha256:shared", 20, t(0)), "r.io", "library/base").ok());
  REQUIRE(index.putTag({"r.io", "team/app", "v1", "", "sha256:own", "x", t(0)}).ok());
  REQUIRE(index.putTag({"r.io", "team/app", "v2", "", "sha256:own", "x", t(0)}).ok());

  CHECK(index.removeTags("r.io", "team/app", std::string("v1")).value() == 1);
  auto removed = index.forgetRepository("r.io", "team/app", nullptr);
  REQUIRE(removed.ok());
  CHECK(removed.value() == std::vector<std::string>{"sha256:own"});
  CHECK_FALSE(index.findBlob("sha256:own").value().has_value());
  CHECK(index.findBlob("sha256:shared").value().has_value());
  CHECK(index.servedUnder("sha256:shared", "r.io", "library/base").value());
  CHECK_FALSE(index.servedUnder("sha256:shared", "r.io", "team/app").value());
  // v2 pointed at the removed manifest.
  CHECK(index.removeDanglingTags().value() == 1);
  CHECK(index.listTags().value().empty());
}

TEST_CASE("a blob fetched with credentials is not public until fetched without", "[cache][index]") {
  TempDb db;
  auto opened = Index::open(db.path);
  REQUIRE(opened.ok());
  Index &index = *opened.value();
  REQUIRE(index.putBlob(blob("sha256:aa", 1, t(0)), "r.io", "team/private", false).ok());
  CHECK(index.servedUnder("sha256:aa", "r.io", "team/private").value());
  CHECK_FALSE(index.servedUnder("sha256:aa", "r.io", "team/private", true).value());
  REQUIRE(index.putBlob(blob("sha256:aa", 1, t(0)), "r.io", "library/base", true).ok());
  CHECK(index.servedUnder("sha256:aa", "r.io", "library/base", true).value());
  CHECK_FALSE(index.servedUnder("sha256:aa", "r.io", "team/private", true).value());
  // Fetched anonymously once, a later fetch with credentials does not take that back.
  REQUIRE(index.putBlob(blob("sha256:aa", 1, t(0)), "r.io", "library/base", false).ok());
  CHECK(index.servedUnder("sha256:aa", "r.io", "library/base", true).value());
}

namespace {
// Runs `sql` on a connection of the test's own; true on success.
bool runSql(sqlite3 *db, const char *sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}
} // namespace

TEST_CASE("a failed COMMIT is rolled back and the connection stays usable", "[cache][index]") {
  TempDb db;
  auto opened = Index::open(db.path);
  REQUIRE(opened.ok());
  Index &index = *opened.value();
  sqlite3 *raw = nullptr;
  REQUIRE(sqlite3_open(db.path.c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> other(raw, &sqlite3_close);
  // A deferred foreign key is checked only at COMMIT: a trigger that breaks it makes the next
  // counter update's COMMIT fail (SQLITE_CONSTRAINT), deterministically, with the transaction
  // still open afterwards.
  REQUIRE(runSql(other.get(), "CREATE TABLE trap_parent (id INTEGER PRIMARY KEY);"
                              "CREATE TABLE trap (ref INTEGER REFERENCES trap_parent(id) "
                              "DEFERRABLE INITIALLY DEFERRED);"
                              "CREATE TRIGGER spring AFTER INSERT ON counters "
                              "BEGIN INSERT INTO trap (ref) VALUES (42); END;"));
  auto failed = index.addCounters({{"cache_hits", 1}});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.failure().detail.find("FOREIGN KEY") != std::string::npos);

  // Rolled back: another connection can take the write lock at once, and nothing was written.
  sqlite3_busy_timeout(other.get(), 0);
  REQUIRE(runSql(other.get(), "BEGIN IMMEDIATE; DROP TRIGGER spring; COMMIT;"));
  CHECK(index.counters().value().count("cache_hits") == 0);
  // And this connection writes again.
  REQUIRE(index.addCounters({{"cache_hits", 2}}).ok());
  REQUIRE(index.putBlob(blob("sha256:aa", 1, t(0)), "r.io", "library/base").ok());
  CHECK(index.counters().value().at("cache_hits") == 2);
}

TEST_CASE("a short busy timeout makes a write fail fast while another connection writes",
          "[cache][index]") {
  TempDb db;
  auto opened = Index::open(db.path);
  REQUIRE(opened.ok());
  Index &index = *opened.value();
  index.setBusyTimeout(5ms);
  sqlite3 *raw = nullptr;
  REQUIRE(sqlite3_open(db.path.c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> other(raw, &sqlite3_close);
  REQUIRE(runSql(other.get(), "BEGIN IMMEDIATE"));
  auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(index.recordHit("sha256:aa", t(0)).ok());
  CHECK_FALSE(index.putBlob(blob("sha256:aa", 1, t(0)), "r.io", "library/base").ok());
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(index.findBlob("sha256:aa").ok()); // reads go on beside the writer (WAL)
  REQUIRE(runSql(other.get(), "COMMIT"));
  CHECK(index.putBlob(blob("sha256:aa", 1, t(0)), "r.io", "library/base").ok());
}
