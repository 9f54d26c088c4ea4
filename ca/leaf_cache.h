#pragma once
// Minted leaves by host, shared by every worker thread: a bounded LRU, and at most one mint per
// host in flight (concurrent askers wait for it instead of minting their own).
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/lru.h"
#include "base/result.h"
#include "ca/leaf_minter.h"

namespace regcache::ca {

class Authority;

class LeafCache {
public:
  using LeafResult = Result<std::shared_ptr<const Leaf>>;

  // `clock` must outlive the cache.
  LeafCache(std::shared_ptr<const Authority> authority, const Clock &clock,
            std::size_t capacity = 1024, MintOptions options = {});

  // The cached leaf for `host`, or a new one. A cached leaf with less than a quarter of its
  // validity left is replaced. Thread-safe; may block while another thread mints for this host.
  // `mayMint`, if given, is asked (under the cache's lock, so it must not call back into the
  // cache) only when a new leaf would be minted; when it says no, the result is a kTooLarge
  // failure and nothing is minted. Waiting for another asker's mint is not a mint.
  LeafResult get(std::string_view host, const std::function<bool()> &mayMint = {});
  // Uses a new authority from now on and forgets every cached leaf.
  void setAuthority(std::shared_ptr<const Authority> authority);
  std::shared_ptr<const Authority> authority() const;
  std::size_t size() const;
  std::uint64_t mintCount() const;

private:
  bool fresh(const Leaf &leaf) const;

  const Clock &clock_;
  const MintOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Authority> authority_;
  LruCache<std::string, std::shared_ptr<const Leaf>> leaves_;
  std::map<std::string, std::shared_future<LeafResult>> inFlight_;
  std::uint64_t generation_ = 0; // bumped by setAuthority, so a late mint is not cached
  std::uint64_t mints_ = 0;
};

} // namespace regcache::ca
