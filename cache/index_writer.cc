#include "cache/index_writer.h"

#include "base/log.h"

namespace regcache::cache {

IndexWriter::IndexWriter(std::unique_ptr<Index> index, IndexView &view, Options options)
    : index_(std::move(index)), view_(view), options_(options) {}

IndexWriter::~IndexWriter() { stop(); }

void IndexWriter::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void IndexWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Never started: what was queued has no thread to write it.
  std::vector<Done> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(dones_);
    changes_.clear();
    inViewAfterWrite_.clear();
    hits_.clear();
    counters_.clear();
    writtenUpTo_ = queued_;
  }
  written_.notify_all();
  for (auto &done : dropped) {
    if (done) done(fail(Error::kIo, "the index writer has stopped"));
  }
}

void IndexWriter::enqueue(IndexChange change, Done done, bool deferred) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      changes_.push_back(std::move(change));
      dones_.push_back(std::move(done));
      inViewAfterWrite_.push_back(deferred);
      ++queued_;
      done = nullptr;
    }
  }
  if (done) {
    done(fail(Error::kIo, "the index writer has stopped"));
    return;
  }
  wake_.notify_one();
}

void IndexWriter::putBlob(const BlobRecord &blob, const BlobSource &source,
                          std::optional<TagRecord> tag, Done done) {
  IndexChange row{IndexChange::Kind::kPutBlob, blob, source, {}};
  if (!tag) {
    enqueue(std::move(row), std::move(done), true);
    return;
  }
  // The tag goes in the same batch, right after: the batch is one transaction, and the writer
  // adds it to the view only with the blob.
  std::lock_guard lock(mutex_);
  if (stopping_) {
    if (done) done(fail(Error::kIo, "the index writer has stopped"));
    return;
  }
  changes_.push_back(std::move(row));
  dones_.push_back(nullptr);
  changes_.push_back(IndexChange{IndexChange::Kind::kPutTag, {}, {}, std::move(*tag)});
  dones_.push_back(std::move(done));
  inViewAfterWrite_.insert(inViewAfterWrite_.end(), {true, true});
  queued_ += 2;
  wake_.notify_one();
}

void IndexWriter::addSource(const BlobRecord &blob, const BlobSource &source) {
  view_.putBlob(blob, source);
  enqueue(IndexChange{IndexChange::Kind::kPutBlob, blob, source, {}}, nullptr, false);
}

void IndexWriter::putTag(const TagRecord &tag) {
  view_.putTag(tag);
  enqueue(IndexChange{IndexChange::Kind::kPutTag, {}, {}, tag}, nullptr, false);
}

void IndexWriter::markRepositoryPublic(const std::string &registry, const std::string &repository) {
  view_.markRepositoryPublic(registry, repository);
  enqueue(
      IndexChange{IndexChange::Kind::kMarkRepositoryPublic, {}, {registry, repository, true}, {}},
      nullptr, false);
}

void IndexWriter::removeBlob(const std::string &digest) {
  view_.removeBlob(digest);
  IndexChange change{IndexChange::Kind::kRemoveBlob, {}, {}, {}};
  change.blob.digest = digest;
  enqueue(std::move(change), nullptr, false);
}

void IndexWriter::recordHit(const std::string &digest, TimePoint at) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  if (hits_.empty() && counters_.empty()) {
    firstHit_ = std::chrono::steady_clock::now();
    // The first hit of a batch starts its clock; the rest wait for it.
    wake_.notify_one();
  }
  HitCount &count = hits_[digest];
  ++count.count;
  if (at > count.last) count.last = at;
  ++queued_;
}

void IndexWriter::addCounters(const std::vector<std::pair<std::string, std::uint64_t>> &deltas) {
  std::lock_guard lock(mutex_);
  if (stopping_ || deltas.empty()) return;
  // Counters are as patient as hits: they go with the next batch, on the same clock.
  if (hits_.empty() && counters_.empty()) firstHit_ = std::chrono::steady_clock::now();
  for (const auto &[name, delta] : deltas)
    counters_[name] += delta;
  ++queued_;
  wake_.notify_one();
}

void IndexWriter::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = queued_;
  if (!started_ || writtenUpTo_ >= target) return; // not started: nothing would ever write
  ++flushing_;
  wake_.notify_one();
  written_.wait(lock, [&] { return writtenUpTo_ >= target; });
  --flushing_;
}

Result<void> IndexWriter::write(const std::vector<IndexChange> &changes,
                                const std::map<std::string, HitCount> &hits,
                                const std::map<std::string, std::uint64_t> &counters) {
  Result<void> written = index_->apply(changes, hits, counters);
  for (int attempt = 1; !written.ok() && attempt < options_.attempts; ++attempt) {
    std::this_thread::sleep_for(options_.retryPause);
    written = index_->apply(changes, hits, counters);
  }
  return written;
}

void IndexWriter::reloadIfChanged() {
  auto now = std::chrono::steady_clock::now();
  if (now < nextReloadCheck_) return;
  nextReloadCheck_ = now + options_.reloadCheck;
  std::int64_t version = index_->dataVersion();
  if (version == dataVersion_) return;
  bool first = dataVersion_ == -1;
  dataVersion_ = version;
  if (first) return; // the view was loaded from this file at start-up
  if (auto loaded = view_.load(*index_); !loaded.ok()) {
    log::cache().warn("cache index: changed by another process, but not reloaded: {}",
                      loaded.failure().detail);
    return;
  }
  log::cache().debug("cache index: changed by another process; reloaded");
}

void IndexWriter::run() {
  std::unique_lock lock(mutex_);
  auto patient = [&] { return !hits_.empty() || !counters_.empty(); };
  for (;;) {
    lock.unlock();
    reloadIfChanged();
    lock.lock();
    wake_.wait_until(lock, nextReloadCheck_,
                     [&] { return stopping_ || !changes_.empty() || patient(); });
    if (changes_.empty() && patient() && !stopping_ && flushing_ == 0) {
      // Only hits so far: let more gather, unless a change worth writing now comes first.
      wake_.wait_until(lock, firstHit_ + options_.hitDelay,
                       [&] { return stopping_ || !changes_.empty() || flushing_ > 0; });
    }
    if (changes_.empty() && !patient()) {
      if (stopping_) break;
      continue;
    }
    std::vector<IndexChange> changes;
    std::vector<Done> dones;
    std::vector<bool> inViewAfterWrite;
    std::map<std::string, HitCount> hits;
    std::map<std::string, std::uint64_t> counters;
    changes.swap(changes_);
    inViewAfterWrite.swap(inViewAfterWrite_);
    dones.swap(dones_);
    hits.swap(hits_);
    counters.swap(counters_);
    std::uint64_t upTo = queued_;
    lock.unlock();

    Result<void> written = write(changes, hits, counters);
    if (written.ok()) {
      // Only now may the hit path serve the new blobs: their rows survive a crash.
      for (std::size_t i = 0; i < changes.size(); ++i) {
        if (!inViewAfterWrite[i]) continue; // the view had it when it was queued
        const IndexChange &change = changes[i];
        if (change.kind == IndexChange::Kind::kPutBlob) view_.putBlob(change.blob, change.source);
        if (change.kind == IndexChange::Kind::kPutTag) view_.putTag(change.tag);
      }
    } else {
      log::cache().warn("cache index: {} change(s) and the hit counts of {} blob(s) not saved: {}",
                        changes.size(), hits.size(), written.failure().detail);
    }
    for (auto &done : dones) {
      if (done) done(written);
    }

    lock.lock();
    writtenUpTo_ = upTo;
    written_.notify_all();
  }
}

} // namespace regcache::cache
