#include "cache/index.h"

#include <array>
#include <map>

namespace regcache::cache {
namespace {

// Each entry upgrades the schema by one version; never edit one that has shipped.
constexpr std::array<const char *, Index::kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE blobs (
  digest      TEXT PRIMARY KEY,
  size        INTEGER NOT NULL,
  media_type  TEXT NOT NULL DEFAULT '',
  manifest    INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  last_access INTEGER NOT NULL,
  hits        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX blobs_by_access ON blobs(last_access);
CREATE TABLE blob_sources (
  digest     TEXT NOT NULL REFERENCES blobs(digest) ON DELETE CASCADE,
  registry   TEXT NOT NULL,
  repository TEXT NOT NULL,
  PRIMARY KEY (digest, registry, repository)
);
CREATE TABLE tags (
  registry   TEXT NOT NULL,
  repository TEXT NOT NULL,
  tag        TEXT NOT NULL,
  accept     TEXT NOT NULL,
  digest     TEXT NOT NULL,
  media_type TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  PRIMARY KEY (registry, repository, tag, accept)
);
)sql",
    // 2: totals kept across restarts for `regcache cache stats` (hit ratio, bytes by source).
    R"sql(
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 3: whether upstream served the blob under that repository without credentials. Rows from
    // earlier versions were all anonymous: requests with credentials bypassed the cache then.
    R"sql(
ALTER TABLE blob_sources ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 1;
)sql",
};

std::int64_t toUnix(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
TimePoint fromUnix(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

std::string text(sqlite3_stmt *stmt, int column) {
  const unsigned char *value = sqlite3_column_text(stmt, column);
  return value != nullptr ? reinterpret_cast<const char *>(value) : "";
}

void bind(sqlite3_stmt *stmt, int index, const std::string &value) {
  sqlite3_bind_text(stmt, index, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
}
void bind(sqlite3_stmt *stmt, int index, std::int64_t value) {
  sqlite3_bind_int64(stmt, index, value);
}

BlobRecord readBlob(sqlite3_stmt *stmt) {
  BlobRecord blob;
  blob.digest = text(stmt, 0);
  blob.size = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 1));
  blob.mediaType = text(stmt, 2);
  blob.manifest = sqlite3_column_int(stmt, 3) != 0;
  blob.createdAt = fromUnix(sqlite3_column_int64(stmt, 4));
  blob.lastAccess = fromUnix(sqlite3_column_int64(stmt, 5));
  blob.hits = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 6));
  return blob;
}

TagRecord readTag(sqlite3_stmt *stmt) {
  TagRecord tag;
  tag.registry = text(stmt, 0);
  tag.repository = text(stmt, 1);
  tag.tag = text(stmt, 2);
  tag.accept = text(stmt, 3);
  tag.digest = text(stmt, 4);
  tag.mediaType = text(stmt, 5);
  tag.checkedAt = fromUnix(sqlite3_column_int64(stmt, 6));
  return tag;
}

} // namespace

Failure Index::sqliteFailure(const std::string &what) const {
  return fail(Error::kIo, what + ": " + sqlite3_errmsg(db_.get()));
}

Result<std::unique_ptr<Index>> Index::open(const std::filesystem::path &path) {
  sqlite3 *raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                               SQLITE_OPEN_NOFOLLOW, // a planted link names itself, not a target
                           nullptr);
  DbPtr db(raw); // sqlite3_open_v2 returns a handle to close even on failure
  if (rc != SQLITE_OK) {
    return fail(Error::kIo, "cannot open " + path.string() + ": " +
                                (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  // Long enough for a migration or a CLI command to wait out another process's write; a loop
  // thread shortens it with setBusyTimeout() once the file is open.
  sqlite3_busy_timeout(db.get(), static_cast<int>(kDefaultBusyTimeout.count()));
  std::unique_ptr<Index> index(new Index(std::move(db)));
  for (const char *pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    if (auto r = index->exec(pragma); !r.ok()) return r.failure();
  }
  if (auto r = index->migrate(); !r.ok()) return r.failure();
  return index;
}

void Index::rollback() {
  // Best effort: the failure that made us roll back is the one worth reporting.
  sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<void> Index::commit() {
  auto committed = exec("COMMIT");
  // A COMMIT that fails (SQLITE_BUSY, a deferred constraint, a full disk) can leave the
  // transaction open, and then every later BEGIN on this connection fails and the write lock
  // stays held: end it here so the connection stays usable.
  if (!committed.ok() && sqlite3_get_autocommit(db_.get()) == 0) rollback();
  return committed;
}

void Index::setBusyTimeout(std::chrono::milliseconds timeout) {
  sqlite3_busy_timeout(db_.get(), static_cast<int>(timeout.count()));
}

Result<void> Index::exec(const char *sql) {
  char *error = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    return fail(Error::kIo, std::string("sqlite: ") + message);
  }
  return {};
}

Result<StmtPtr> Index::prepare(const char *sql) {
  sqlite3_stmt *stmt = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return sqliteFailure("prepare");
  }
  return StmtPtr(stmt);
}

int Index::schemaVersion() const {
  sqlite3_stmt *stmt = nullptr;
  sqlite3_prepare_v2(db_.get(), "PRAGMA user_version", -1, &stmt, nullptr);
  StmtPtr owned(stmt);
  return sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
}

Result<void> Index::migrate() {
  if (auto r = exec("BEGIN IMMEDIATE"); !r.ok()) return r;
  int version = schemaVersion();
  if (version > kSchemaVersion) {
    rollback();
    return fail(Error::kInvalidInput, "cache.db has schema version " + std::to_string(version) +
                                          ", newer than this regcache (" +
                                          std::to_string(kSchemaVersion) + ")");
  }
  for (int next = version; next < kSchemaVersion; ++next) {
    if (auto r = exec(kMigrations[static_cast<std::size_t>(next)]); !r.ok()) {
      rollback();
      return r;
    }
  }
  std::string setVersion = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
  if (auto r = exec(setVersion.c_str()); !r.ok()) {
    rollback();
    return r;
  }
  return commit();
}

Result<void> Index::putBlob(const BlobRecord &blob, const std::string &registry,
                            const std::string &repository, bool anonymous) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r.ok()) return r;
  auto insert = prepare("INSERT INTO blobs (digest, size, media_type, manifest, created_at, "
                        "last_access, hits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) "
                        "ON CONFLICT(digest) DO NOTHING");
  // Once anonymous, always: a later fetch with credentials does not make public content private.
  auto source = prepare("INSERT INTO blob_sources (digest, registry, repository, anonymous) "
                        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(digest, registry, repository) "
                        "DO UPDATE SET anonymous = MAX(anonymous, excluded.anonymous)");
  if (!insert.ok() || !source.ok()) {
    rollback();
    return insert.ok() ? source.failure() : insert.failure();
  }
  sqlite3_stmt *s = insert->get();
  bind(s, 1, blob.digest);
  bind(s, 2, static_cast<std::int64_t>(blob.size));
  bind(s, 3, blob.mediaType);
  bind(s, 4, std::int64_t{blob.manifest ? 1 : 0});
  bind(s, 5, toUnix(blob.createdAt));
  bind(s, 6, toUnix(blob.lastAccess));
  sqlite3_stmt *t = source->get();
  bind(t, 1, blob.digest);
  bind(t, 2, registry);
  bind(t, 3, repository);
  bind(t, 4, std::int64_t{anonymous ? 1 : 0});
  if (sqlite3_step(s) != SQLITE_DONE || sqlite3_step(t) != SQLITE_DONE) {
    auto failure = sqliteFailure("putBlob");
    rollback();
    return failure;
  }
  return commit();
}

Result<std::optional<BlobRecord>> Index::findBlob(const std::string &digest) {
  auto stmt = prepare("SELECT digest, size, media_type, manifest, created_at, last_access, hits "
                      "FROM blobs WHERE digest = ?1");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, digest);
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return std::optional<BlobRecord>(readBlob(stmt->get()));
  if (rc == SQLITE_DONE) return std::optional<BlobRecord>();
  return sqliteFailure("findBlob");
}

Result<void> Index::markRepositoryPublic(const std::string &registry,
                                         const std::string &repository) {
  auto stmt = prepare("UPDATE blob_sources SET anonymous = 1 WHERE registry = ?1 AND "
                      "repository = ?2");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, registry);
  bind(stmt->get(), 2, repository);
  if (sqlite3_step(stmt->get()) != SQLITE_DONE) return sqliteFailure("markRepositoryPublic");
  return {};
}

Result<bool> Index::servedUnder(const std::string &digest, const std::string &registry,
                                const std::string &repository, bool anonymously) {
  auto stmt = prepare("SELECT 1 FROM blob_sources WHERE digest = ?1 AND registry = ?2 AND "
                      "repository = ?3 AND anonymous >= ?4");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, digest);
  bind(stmt->get(), 2, registry);
  bind(stmt->get(), 3, repository);
  bind(stmt->get(), 4, std::int64_t{anonymously ? 1 : 0});
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteFailure("servedUnder");
}

Result<bool> Index::servedAtRegistry(const std::string &digest, const std::string &registry) {
  auto stmt = prepare("SELECT 1 FROM blob_sources WHERE digest = ?1 AND registry = ?2 LIMIT 1");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, digest);
  bind(stmt->get(), 2, registry);
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteFailure("servedAtRegistry");
}

Result<void> Index::recordHit(const std::string &digest, TimePoint at) {
  auto stmt = prepare("UPDATE blobs SET hits = hits + 1, last_access = ?2 WHERE digest = ?1");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, digest);
  bind(stmt->get(), 2, toUnix(at));
  if (sqlite3_step(stmt->get()) != SQLITE_DONE) return sqliteFailure("recordHit");
  return {};
}

Result<void> Index::apply(const std::vector<IndexChange> &changes,
                          const std::map<std::string, HitCount> &hits,
                          const std::map<std::string, std::uint64_t> &counters) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r.ok()) return r;
  auto fail = [&](Failure failure) {
    rollback();
    return failure;
  };
  // Prepared once per batch: each statement serves every change of its kind.
  auto insertBlob = prepare("INSERT INTO blobs (digest, size, media_type, manifest, created_at, "
                            "last_access, hits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) "
                            "ON CONFLICT(digest) DO NOTHING");
  auto source = prepare("INSERT INTO blob_sources (digest, registry, repository, anonymous) "
                        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(digest, registry, repository) "
                        "DO UPDATE SET anonymous = MAX(anonymous, excluded.anonymous)");
  auto tag = prepare("INSERT INTO tags (registry, repository, tag, accept, digest, media_type, "
                     "checked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(registry, "
                     "repository, tag, accept) DO UPDATE SET digest = excluded.digest, "
                     "media_type = excluded.media_type, checked_at = excluded.checked_at");
  auto markPublic = prepare("UPDATE blob_sources SET anonymous = 1 WHERE registry = ?1 AND "
                            "repository = ?2");
  auto remove = prepare("DELETE FROM blobs WHERE digest = ?1");
  auto hit = prepare("UPDATE blobs SET hits = hits + ?2, last_access = MAX(last_access, ?3) "
                     "WHERE digest = ?1");
  auto counter = prepare("INSERT INTO counters (name, value) VALUES (?1, ?2) "
                         "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
  for (auto *stmt : {&insertBlob, &source, &tag, &markPublic, &remove, &hit, &counter}) {
    if (!stmt->ok()) return fail(stmt->failure());
  }
  auto step = [&](Result<StmtPtr> &stmt) {
    bool done = sqlite3_step(stmt->get()) == SQLITE_DONE;
    sqlite3_reset(stmt->get());
    return done;
  };
  for (const IndexChange &change : changes) {
    bool done = false;
    switch (change.kind) {
    case IndexChange::Kind::kPutBlob: {
      sqlite3_stmt *s = insertBlob->get();
      bind(s, 1, change.blob.digest);
      bind(s, 2, static_cast<std::int64_t>(change.blob.size));
      bind(s, 3, change.blob.mediaType);
      bind(s, 4, std::int64_t{change.blob.manifest ? 1 : 0});
      bind(s, 5, toUnix(change.blob.createdAt));
      bind(s, 6, toUnix(change.blob.lastAccess));
      sqlite3_stmt *t = source->get();
      bind(t, 1, change.blob.digest);
      bind(t, 2, change.source.registry);
      bind(t, 3, change.source.repository);
      bind(t, 4, std::int64_t{change.source.anonymous ? 1 : 0});
      done = step(insertBlob) && step(source);
      break;
    }
    case IndexChange::Kind::kPutTag: {
      sqlite3_stmt *s = tag->get();
      bind(s, 1, change.tag.registry);
      bind(s, 2, change.tag.repository);
      bind(s, 3, change.tag.tag);
      bind(s, 4, change.tag.accept);
      bind(s, 5, change.tag.digest);
      bind(s, 6, change.tag.mediaType);
      bind(s, 7, toUnix(change.tag.checkedAt));
      done = step(tag);
      break;
    }
    case IndexChange::Kind::kMarkRepositoryPublic:
      bind(markPublic->get(), 1, change.source.registry);
      bind(markPublic->get(), 2, change.source.repository);
      done = step(markPublic);
      break;
    case IndexChange::Kind::kRemoveBlob:
      bind(remove->get(), 1, change.blob.digest);
      done = step(remove);
      break;
    }
    if (!done) return fail(sqliteFailure("apply"));
  }
  for (const auto &[digest, count] : hits) {
    bind(hit->get(), 1, digest);
    bind(hit->get(), 2, static_cast<std::int64_t>(count.count));
    bind(hit->get(), 3, toUnix(count.last));
    if (!step(hit)) return fail(sqliteFailure("apply"));
  }
  for (const auto &[name, delta] : counters) {
    bind(counter->get(), 1, name);
    bind(counter->get(), 2, static_cast<std::int64_t>(delta));
    if (!step(counter)) return fail(sqliteFailure("apply"));
  }
  return commit();
}

std::int64_t Index::dataVersion() const {
  sqlite3_stmt *stmt = nullptr;
  sqlite3_prepare_v2(db_.get(), "PRAGMA data_version", -1, &stmt, nullptr);
  StmtPtr owned(stmt);
  return sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
}

Result<void> Index::removeBlob(const std::string &digest) {
  auto stmt = prepare("DELETE FROM blobs WHERE digest = ?1");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, digest);
  if (sqlite3_step(stmt->get()) != SQLITE_DONE) return sqliteFailure("removeBlob");
  return {};
}

Result<void> Index::putTag(const TagRecord &tag) {
  auto stmt = prepare("INSERT INTO tags (registry, repository, tag, accept, digest, media_type, "
                      "checked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(registry, "
                      "repository, tag, accept) DO UPDATE SET digest = excluded.digest, "
                      "media_type = excluded.media_type, checked_at = excluded.checked_at");
  if (!stmt.ok()) return stmt.failure();
  sqlite3_stmt *s = stmt->get();
  bind(s, 1, tag.registry);
  bind(s, 2, tag.repository);
  bind(s, 3, tag.tag);
  bind(s, 4, tag.accept);
  bind(s, 5, tag.digest);
  bind(s, 6, tag.mediaType);
  bind(s, 7, toUnix(tag.checkedAt));
  if (sqlite3_step(s) != SQLITE_DONE) return sqliteFailure("putTag");
  return {};
}

Result<std::optional<TagRecord>> Index::findTag(const std::string &registry,
                                                const std::string &repository,
                                                const std::string &tag, const std::string &accept) {
  auto stmt = prepare("SELECT registry, repository, tag, accept, digest, media_type, checked_at "
                      "FROM tags WHERE registry = ?1 AND repository = ?2 AND tag = ?3 AND "
                      "accept = ?4");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, registry);
  bind(stmt->get(), 2, repository);
  bind(stmt->get(), 3, tag);
  bind(stmt->get(), 4, accept);
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return std::optional<TagRecord>(readTag(stmt->get()));
  if (rc == SQLITE_DONE) return std::optional<TagRecord>();
  return sqliteFailure("findTag");
}

Result<std::vector<TagRecord>> Index::listTags() {
  auto stmt = prepare("SELECT registry, repository, tag, accept, digest, media_type, checked_at "
                      "FROM tags ORDER BY registry, repository, tag");
  if (!stmt.ok()) return stmt.failure();
  std::vector<TagRecord> tags;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
    tags.push_back(readTag(stmt->get()));
  if (rc != SQLITE_DONE) return sqliteFailure("listTags");
  return tags;
}

Result<std::vector<std::string>> Index::listRepositories(bool publicOnly) {
  auto stmt = prepare("SELECT DISTINCT registry || '/' || repository AS name FROM blob_sources "
                      "WHERE anonymous >= ?1 ORDER BY name");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, std::int64_t{publicOnly ? 1 : 0});
  std::vector<std::string> names;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
    names.push_back(text(stmt->get(), 0));
  if (rc != SQLITE_DONE) return sqliteFailure("listRepositories");
  return names;
}

Result<std::vector<BlobRecord>> Index::leastRecentlyUsed(std::size_t limit) {
  auto stmt = prepare("SELECT digest, size, media_type, manifest, created_at, last_access, hits "
                      "FROM blobs ORDER BY last_access ASC, digest LIMIT ?1");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, static_cast<std::int64_t>(limit));
  std::vector<BlobRecord> blobs;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
    blobs.push_back(readBlob(stmt->get()));
  if (rc != SQLITE_DONE) return sqliteFailure("leastRecentlyUsed");
  return blobs;
}

Result<CacheTotals> Index::totals() {
  auto stmt = prepare("SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(hits), 0) FROM blobs");
  if (!stmt.ok()) return stmt.failure();
  if (sqlite3_step(stmt->get()) != SQLITE_ROW) return sqliteFailure("totals");
  return CacheTotals{static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 0)),
                     static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 1)),
                     static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 2))};
}

Result<std::vector<std::string>> Index::allDigests() {
  auto stmt = prepare("SELECT digest FROM blobs ORDER BY digest");
  if (!stmt.ok()) return stmt.failure();
  std::vector<std::string> digests;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
    digests.push_back(text(stmt->get(), 0));
  if (rc != SQLITE_DONE) return sqliteFailure("allDigests");
  return digests;
}

Result<void> Index::scanBlobs(const std::function<void(BlobRecord &&)> &visit) {
  auto stmt = prepare("SELECT digest, size, media_type, manifest, created_at, last_access, hits "
                      "FROM blobs");
  if (!stmt.ok()) return stmt.failure();
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
    visit(readBlob(stmt->get()));
  if (rc != SQLITE_DONE) return sqliteFailure("scanBlobs");
  return {};
}

Result<void>
Index::scanSources(const std::function<void(std::string &&digest, BlobSource &&)> &visit) {
  auto stmt = prepare("SELECT digest, registry, repository, anonymous FROM blob_sources");
  if (!stmt.ok()) return stmt.failure();
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    visit(text(stmt->get(), 0), BlobSource{text(stmt->get(), 1), text(stmt->get(), 2),
                                           sqlite3_column_int(stmt->get(), 3) != 0});
  }
  if (rc != SQLITE_DONE) return sqliteFailure("scanSources");
  return {};
}

Result<void> Index::addCounters(const std::vector<std::pair<std::string, std::uint64_t>> &deltas) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r.ok()) return r;
  auto stmt = prepare("INSERT INTO counters (name, value) VALUES (?1, ?2) "
                      "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
  if (!stmt.ok()) {
    rollback();
    return stmt.failure();
  }
  for (const auto &[name, delta] : deltas) {
    sqlite3_reset(stmt->get());
    bind(stmt->get(), 1, name);
    bind(stmt->get(), 2, static_cast<std::int64_t>(delta));
    if (sqlite3_step(stmt->get()) != SQLITE_DONE) {
      auto failure = sqliteFailure("addCounters");
      rollback();
      return failure;
    }
  }
  return commit();
}

Result<std::map<std::string, std::uint64_t>> Index::counters() {
  auto stmt = prepare("SELECT name, value FROM counters");
  if (!stmt.ok()) return stmt.failure();
  std::map<std::string, std::uint64_t> values;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    values[text(stmt->get(), 0)] = static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 1));
  }
  if (rc != SQLITE_DONE) return sqliteFailure("counters");
  return values;
}

Result<std::size_t> Index::removeTags(const std::string &registry, const std::string &repository,
                                      const std::optional<std::string> &tag) {
  auto stmt = prepare("DELETE FROM tags WHERE registry = ?1 AND repository = ?2 AND "
                      "(?3 IS NULL OR tag = ?3)");
  if (!stmt.ok()) return stmt.failure();
  bind(stmt->get(), 1, registry);
  bind(stmt->get(), 2, repository);
  if (tag) bind(stmt->get(), 3, *tag);
  if (sqlite3_step(stmt->get()) != SQLITE_DONE) return sqliteFailure("removeTags");
  return static_cast<std::size_t>(sqlite3_changes(db_.get()));
}

Result<std::vector<std::string>> Index::forgetRepository(const std::string &registry,
                                                         const std::string &repository,
                                                         const std::vector<std::string> *only) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r.ok()) return r.failure();
  auto fail = [&](Failure failure) {
    rollback();
    return failure;
  };
  std::vector<std::string> candidates;
  if (only != nullptr) {
    candidates = *only;
  } else {
    auto select =
        prepare("SELECT digest FROM blob_sources WHERE registry = ?1 AND repository = ?2");
    if (!select.ok()) return fail(select.failure());
    bind(select->get(), 1, registry);
    bind(select->get(), 2, repository);
    while (sqlite3_step(select->get()) == SQLITE_ROW)
      candidates.push_back(text(select->get(), 0));
  }
  auto forget =
      prepare("DELETE FROM blob_sources WHERE digest = ?1 AND registry = ?2 AND repository = ?3");
  auto drop = prepare("DELETE FROM blobs WHERE digest = ?1 AND NOT EXISTS "
                      "(SELECT 1 FROM blob_sources WHERE blob_sources.digest = ?1)");
  if (!forget.ok()) return fail(forget.failure());
  if (!drop.ok()) return fail(drop.failure());
  std::vector<std::string> removed;
  for (const auto &digest : candidates) {
    sqlite3_reset(forget->get());
    bind(forget->get(), 1, digest);
    bind(forget->get(), 2, registry);
    bind(forget->get(), 3, repository);
    if (sqlite3_step(forget->get()) != SQLITE_DONE) return fail(sqliteFailure("forgetRepository"));
    sqlite3_reset(drop->get());
    bind(drop->get(), 1, digest);
    if (sqlite3_step(drop->get()) != SQLITE_DONE) return fail(sqliteFailure("forgetRepository"));
    if (sqlite3_changes(db_.get()) > 0) removed.push_back(digest);
  }
  if (auto r = commit(); !r.ok()) return r.failure();
  return removed;
}

Result<std::size_t> Index::removeDanglingTags() {
  if (auto r = exec("DELETE FROM tags WHERE digest NOT IN (SELECT digest FROM blobs)"); !r.ok()) {
    return r.failure();
  }
  return static_cast<std::size_t>(sqlite3_changes(db_.get()));
}

} // namespace regcache::cache
