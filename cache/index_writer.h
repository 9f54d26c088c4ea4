#pragma once
// Writes the cache index behind, from one thread of its own, in batches: the event loops hand it
// their changes and never wait on SQLite. Each change reaches IndexView (the copy the hit path
// reads) at once, except a new blob's row, which reaches it only once SQLite has it: a blob is
// served from the cache only when a crash can no longer lose its row. Hit counts are gathered for
// up to `hitDelay` and written as one UPDATE per digest: a crash loses at most those.
//
// Changes made by another connection (a `regcache cache rm` beside the server, the evictor) are
// seen through SQLite's data_version, checked every `reloadCheck`: the view is then loaded again
// on the writer's thread and swapped in. A loop's change racing a reload may miss the new view
// until the next one; each such change only withholds content (a confirmation or a refetch
// instead of a hit), never serves more.
//
// A batch that fails (another connection held the write lock past the busy timeout, a full
// disk) is tried again a few times; after that its changes are dropped, logged, and every
// completion waiting on it is told.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.h"
#include "cache/index.h"
#include "cache/index_view.h"

namespace regcache::cache {

class IndexWriter {
public:
  // Called on the writer's thread once the change is written (or has failed for good). A caller
  // on an event loop posts from here back to its loop.
  using Done = std::function<void(Result<void>)>;

  struct Options {
    std::chrono::milliseconds hitDelay{1000}; // how long hit counts gather before a write
    int attempts = 3;                         // tries of a failing batch before it is dropped
    std::chrono::milliseconds retryPause{100};
    std::chrono::milliseconds reloadCheck{2000}; // how often to look for others' changes
  };

  // Takes over `index` (its connection is used only on the writer's thread from start() on) and
  // updates `view`, which must outlive the writer.
  IndexWriter(std::unique_ptr<Index> index, IndexView &view, Options options);
  IndexWriter(std::unique_ptr<Index> index, IndexView &view)
      : IndexWriter(std::move(index), view, Options{}) {}
  ~IndexWriter();
  IndexWriter(const IndexWriter &) = delete;
  IndexWriter &operator=(const IndexWriter &) = delete;

  void start();
  // Writes everything queued, then ends the thread. Changes queued after stop() are dropped
  // (their completions told kIo).
  void stop();

  // Any thread, never blocking on SQLite. A verified, stored blob served under `source`, with
  // the tag that named it if any: `done` runs once the row is in SQLite and in the view.
  void putBlob(const BlobRecord &blob, const BlobSource &source, std::optional<TagRecord> tag,
               Done done);
  // Records one more source of a blob already stored (or the blob with it): in the view now.
  void addSource(const BlobRecord &blob, const BlobSource &source);
  void putTag(const TagRecord &tag);
  void markRepositoryPublic(const std::string &registry, const std::string &repository);
  // Forgets a blob (its file is gone): from the view now.
  void removeBlob(const std::string &digest);
  void recordHit(const std::string &digest, TimePoint at);
  // Adds to the persistent counters (Index::addCounters) in the next batch.
  void addCounters(const std::vector<std::pair<std::string, std::uint64_t>> &deltas);

  // Blocks until every change queued before the call is written or dropped (tests, `cache`
  // commands sharing the process). Never call it on an event loop.
  void flush();

private:
  // `deferred`: the change reaches the view only once written (a new blob's row).
  void enqueue(IndexChange change, Done done, bool deferred);
  void run();
  Result<void> write(const std::vector<IndexChange> &changes,
                     const std::map<std::string, HitCount> &hits,
                     const std::map<std::string, std::uint64_t> &counters);
  // Loads the view again if another connection committed since the last look.
  void reloadIfChanged();

  std::unique_ptr<Index> index_;
  IndexView &view_;
  Options options_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::vector<IndexChange> changes_;
  std::vector<Done> dones_;            // one per change (most empty)
  std::vector<bool> inViewAfterWrite_; // one per change: see enqueue()
  std::map<std::string, HitCount> hits_;
  std::map<std::string, std::uint64_t> counters_;
  std::int64_t dataVersion_ = -1; // the writer's thread only
  std::chrono::steady_clock::time_point nextReloadCheck_;
  std::chrono::steady_clock::time_point firstHit_;
  std::uint64_t queued_ = 0;      // changes and hits handed in so far
  std::uint64_t writtenUpTo_ = 0; // all of those up to this one are written or dropped
  int flushing_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace regcache::cache
