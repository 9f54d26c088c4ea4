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
  std::lock_guard lock(mutex_);
  progress->state.store(state, std::memory_order_release);
  auto it = fills_.find(digest);
  if (it != fills_.end() && it->second == progress) fills_.erase(it);
}

std::size_t FillRegistry::inFlight() const {
  std::lock_guard lock(mutex_);
  return fills_.size();
}

} // namespace regcache::cache
