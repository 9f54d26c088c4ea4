#include "proxy/forward/upstream_pool.h"

#include <algorithm>

namespace regcache::proxy {

struct UpstreamPool::Parked {
  UpstreamPool *pool;
  PoolKey key;
  BufferEventPtr bev;
};

std::string PoolKey::toString() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

UpstreamPool::UpstreamPool(std::size_t perKey, std::chrono::milliseconds idleTimeout)
    : perKey_(perKey), idleTimeout_(idleTimeout) {}

UpstreamPool::~UpstreamPool() = default;

BufferEventPtr UpstreamPool::take(const PoolKey &key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  BufferEventPtr bev = std::move(it->second.back()->bev);
  it->second.pop_back();
  if (it->second.empty()) idle_.erase(it);
  bufferevent_setcb(bev.get(), nullptr, nullptr, nullptr, nullptr);
  bufferevent_set_timeouts(bev.get(), nullptr, nullptr);
  bufferevent_disable(bev.get(), EV_READ | EV_WRITE);
  return bev;
}

void UpstreamPool::give(const PoolKey &key, BufferEventPtr bev) {
  if (perKey_ == 0) return;
  auto &list = idle_[key];
  if (list.size() >= perKey_) list.pop_front(); // the oldest is the likeliest to be stale
  auto parked = std::make_unique<Parked>(Parked{this, key, std::move(bev)});
  bufferevent *raw = parked->bev.get();
  bufferevent_setcb(raw, &UpstreamPool::onParkedRead, nullptr, &UpstreamPool::onParkedEvent,
                    parked.get());
  timeval timeout{static_cast<time_t>(idleTimeout_.count() / 1000),
                  static_cast<suseconds_t>((idleTimeout_.count() % 1000) * 1000)};
  bufferevent_set_timeouts(raw, &timeout, nullptr);
  bufferevent_enable(raw, EV_READ);
  list.push_back(std::move(parked));
}

std::size_t UpstreamPool::idleCount() const {
  std::size_t n = 0;
  for (const auto &[key, list] : idle_)
    n += list.size();
  return n;
}

void UpstreamPool::onParkedRead(bufferevent *, void *arg) noexcept {
  // An idle upstream has nothing legitimate to say; a connection out of step is not reusable.
  auto *parked = static_cast<Parked *>(arg);
  parked->pool->drop(parked);
}

void UpstreamPool::onParkedEvent(bufferevent *, short, void *arg) noexcept {
  auto *parked = static_cast<Parked *>(arg);
  parked->pool->drop(parked);
}

void UpstreamPool::drop(Parked *parked) {
  auto it = idle_.find(parked->key);
  if (it == idle_.end()) return;
  auto &list = it->second;
  list.remove_if([parked](const std::unique_ptr<Parked> &p) { return p.get() == parked; });
  if (list.empty()) idle_.erase(it);
}

} // namespace regcache::proxy
