#include "ca/mint_limiter.h"

#include <algorithm>
#include <chrono>

namespace regcache::ca {
namespace {
// Past this many clients with a bucket, full buckets are dropped before adding another.
constexpr std::size_t kPruneAbove = 4096;
} // namespace

MintLimiter::MintLimiter(const Clock &clock, std::size_t perMinute)
    : clock_(clock), perMinute_(perMinute) {}

void MintLimiter::refill(Bucket &bucket, Clock::TimePoint now) const {
  if (now <= bucket.updated) return;
  double minutes = std::chrono::duration<double, std::ratio<60>>(now - bucket.updated).count();
  bucket.tokens =
      std::min(static_cast<double>(perMinute_), bucket.tokens + minutes * double(perMinute_));
  bucket.updated = now;
}

void MintLimiter::prune(Clock::TimePoint now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    if (it->second.tokens >= static_cast<double>(perMinute_)) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

bool MintLimiter::tryTake(const std::string &client) {
  if (perMinute_ == 0) return true;
  auto now = clock_.now();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kPruneAbove) prune(now);
    it = buckets_.emplace(client, Bucket{static_cast<double>(perMinute_), now}).first;
  }
  Bucket &bucket = it->second;
  refill(bucket, now);
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

} // namespace regcache::ca
