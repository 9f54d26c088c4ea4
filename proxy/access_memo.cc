#include "proxy/access_memo.h"

#include "cache/digest.h"

namespace regcache::proxy {

AccessMemo::AccessMemo(const Clock &clock, std::chrono::seconds ttl, std::size_t maxEntries)
    : clock_(clock), ttl_(ttl), maxEntries_(maxEntries) {}

std::string AccessMemo::credentialKey(std::string_view authorization) {
  return cache::sha256Hex(authorization).substr(0, 32);
}

bool AccessMemo::accepted(const std::string &credential, const std::string &registry,
                          const std::string &repository) const {
  std::lock_guard lock(mutex_);
  auto it = expiry_.find(Key{credential, registry, repository});
  return it != expiry_.end() && clock_.now() < it->second;
}

void AccessMemo::remember(const std::string &credential, const std::string &registry,
                          const std::string &repository) {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  if (expiry_.size() >= maxEntries_) {
    // Bounded whatever clients send: drop what expired, and everything if that is not enough.
    std::erase_if(expiry_, [&](const auto &entry) { return entry.second <= now; });
    if (expiry_.size() >= maxEntries_) expiry_.clear();
  }
  expiry_[Key{credential, registry, repository}] = now + ttl_;
}

} // namespace regcache::proxy
