#include "proxy/access/access_memo.h"

#include <algorithm>

#include "base/sha256.h"
#include "proxy/http/bearer_token.h"

namespace regcache::proxy {

AccessMemo::AccessMemo(const Clock &clock, std::chrono::seconds ttl, std::size_t maxEntries)
    : clock_(clock), ttl_(ttl), maxEntries_(maxEntries) {}

Credential Credential::of(std::string_view authorization) {
  return Credential{sha256Hex(authorization).substr(0, 32), http::bearerTokenExpiry(authorization)};
}

bool AccessMemo::accepted(const std::string &credentialKey, const std::string &registry,
                          const std::string &repository) const {
  std::lock_guard lock(mutex_);
  auto it = expiry_.find(Key{credentialKey, registry, repository});
  return it != expiry_.end() && clock_.now() < it->second;
}

void AccessMemo::remember(const Credential &credential, const std::string &registry,
                          const std::string &repository) {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  auto until = now + ttl_;
  if (credential.expires) until = std::min(until, *credential.expires);
  if (until <= now) return;
  if (expiry_.size() >= maxEntries_) {
    // Bounded whatever clients send: drop what expired, and everything if that is not enough.
    std::erase_if(expiry_, [&](const auto &entry) { return entry.second <= now; });
    if (expiry_.size() >= maxEntries_) expiry_.clear();
  }
  expiry_[Key{credential.key, registry, repository}] = until;
}

} // namespace regcache::proxy
