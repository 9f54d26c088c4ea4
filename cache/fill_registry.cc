#include "cache/fill_registry.h"

namespace regcache::cache {

std::pair<std::shared_ptr<FillProgress>, bool> FillRegistry::join(const std::string &key,
                                                                  FillLeader leader) {
  std::lock_guard lock(mutex_);
  auto it = fills_.find(key);
  if (it != fills_.end()) return {it->second, false};
  auto progress = std::make_shared<FillProgress>(std::move(leader));
  fills_.emplace(key, progress);
  return {progress, true};
}

void FillRegistry::finish(const std::string &digest, const std::shared_ptr<FillProgress> &progress,
                          FillProgress::State state) {
  {
    std::lock_guard lock(mutex_);
    auto it = fills_.find(digest);
    if (it != fills_.end() && it->second == progress) fills_.erase(it);
  }
  // Out of the registry first: a reader woken by this and finding no blob may start a new fill.
  progress->publishState(state);
}

std::uint64_t FillProgress::subscribe(std::function<void()> waker) {
  std::lock_guard lock(wakersMutex_);
  std::uint64_t id = nextWaker_++;
  wakers_.emplace(id, std::move(waker));
  return id;
}

void FillProgress::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(wakersMutex_);
  wakers_.erase(id);
}

void FillProgress::publishWritten(std::uint64_t bytes) {
  written.store(bytes, std::memory_order_release);
  wakeReaders();
}

void FillProgress::publishState(State next) {
  state.store(next, std::memory_order_release);
  wakeReaders();
}

void FillProgress::wakeReaders() {
  std::lock_guard lock(wakersMutex_);
  for (auto &[id, waker] : wakers_)
    waker();
}

std::size_t FillRegistry::inFlight() const {
  std::lock_guard lock(mutex_);
  return fills_.size();
}

std::vector<FillRegistry::Snapshot> FillRegistry::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<Snapshot> out;
  for (const auto &[digest, progress] : fills_) {
    Snapshot s;
    s.digest = digest;
    s.written = progress->written.load(std::memory_order_relaxed);
    // size is published with kStreaming (release); before that it is not to be read.
    if (progress->state.load(std::memory_order_acquire) == FillProgress::kStreaming) {
      s.size = progress->size;
    }
    s.startedAt = progress->startedAt;
    s.readers = progress.use_count() - 1;
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace regcache::cache
