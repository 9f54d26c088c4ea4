#pragma once
// Idle keep-alive connections to upstreams, per worker, keyed by (scheme, host, port) and
// bounded per key. An idle connection that the upstream closes, writes to, or leaves idle past
// the limit is dropped.
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/event_handles.h"

namespace regcache::proxy {

struct PoolKey {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  bool operator==(const PoolKey &) const = default;
  std::string toString() const;
};

struct PoolKeyHash {
  std::size_t operator()(const PoolKey &key) const {
    return std::hash<std::string>()(key.host) ^ (std::size_t{key.port} << 1) ^ key.tls;
  }
};

class UpstreamPool {
public:
  UpstreamPool(std::size_t perKey, std::chrono::milliseconds idleTimeout);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool &) = delete;
  UpstreamPool &operator=(const UpstreamPool &) = delete;

  // The most recently parked connection for key, with no callbacks and disabled, or null.
  BufferEventPtr take(const PoolKey &key);
  // Parks a connection whose last response ended cleanly. Drops it when the key is full.
  void give(const PoolKey &key, BufferEventPtr bev);
  std::size_t idleCount() const;

private:
  struct Parked;
  static void onParkedRead(bufferevent *bev, void *arg) noexcept;
  static void onParkedEvent(bufferevent *bev, short what, void *arg) noexcept;
  void drop(Parked *parked);

  std::size_t perKey_;
  std::chrono::milliseconds idleTimeout_;
  std::unordered_map<PoolKey, std::list<std::unique_ptr<Parked>>, PoolKeyHash> idle_;
};

} // namespace regcache::proxy
