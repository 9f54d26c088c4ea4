#include "ca/leaf_cache.h"

#include "ca/authority.h"

namespace regcache::ca {

LeafCache::LeafCache(std::shared_ptr<const Authority> authority, const Clock &clock,
                     std::size_t capacity, MintOptions options)
    : clock_(clock), options_(options), authority_(std::move(authority)), leaves_(capacity) {}

bool LeafCache::fresh(const Leaf &leaf) const {
  auto now = clock_.now();
  return now < leaf.notAfter && (leaf.notAfter - now) * 4 > (leaf.notAfter - leaf.notBefore);
}

LeafCache::LeafResult LeafCache::get(std::string_view rawHost,
                                     const std::function<bool()> &mayMint) {
  std::string host = normalizeHost(rawHost);
  if (host.empty()) {
    return fail(Error::kInvalidInput,
                "not a host name or IP address: '" + std::string(rawHost) + "'");
  }
  std::promise<LeafResult> promise;
  std::shared_ptr<const Authority> authority;
  std::uint64_t generation = 0;
  {
    std::unique_lock lock(mutex_);
    if (!authority_->permits(host)) {
      return fail(Error::kPolicy, host + " is outside the CA's name constraints");
    }
    if (auto cached = leaves_.get(host); cached && fresh(**cached)) return *cached;
    if (auto it = inFlight_.find(host); it != inFlight_.end()) {
      auto pending = it->second;
      lock.unlock();
      return pending.get();
    }
    if (mayMint && !mayMint()) {
      return fail(Error::kTooLarge, "the client's mint limit is reached for now");
    }
    inFlight_.emplace(host, promise.get_future().share());
    authority = authority_;
    generation = generation_;
    ++mints_;
  }

  // Minting (key generation and signing) happens outside the lock.
  auto minted = mintLeaf(*authority, host, clock_, options_);
  LeafResult result = minted.ok() ? LeafResult(std::shared_ptr<const Leaf>(
                                        std::make_shared<Leaf>(std::move(minted.value()))))
                                  : LeafResult(minted.failure());
  {
    std::lock_guard lock(mutex_);
    if (result.ok() && generation == generation_) leaves_.put(host, result.value());
    inFlight_.erase(host);
  }
  promise.set_value(result);
  return result;
}

void LeafCache::setAuthority(std::shared_ptr<const Authority> authority) {
  std::lock_guard lock(mutex_);
  authority_ = std::move(authority);
  leaves_.clear();
  ++generation_;
}

std::shared_ptr<const Authority> LeafCache::authority() const {
  std::lock_guard lock(mutex_);
  return authority_;
}

std::size_t LeafCache::size() const {
  std::lock_guard lock(mutex_);
  return leaves_.size();
}

std::uint64_t LeafCache::mintCount() const {
  std::lock_guard lock(mutex_);
  return mints_;
}

} // namespace regcache::ca
