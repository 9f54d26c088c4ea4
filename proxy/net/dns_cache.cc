#include "proxy/net/dns_cache.h"

#include <algorithm>
#include <cctype>

namespace regcache::proxy::net {

DnsCache::DnsCache(std::chrono::milliseconds maxTtl, std::chrono::milliseconds negativeTtl,
                   std::size_t capacity)
    : maxTtl_(maxTtl), negativeTtl_(negativeTtl), capacity_(std::max<std::size_t>(capacity, 1)) {}

std::string DnsCache::key(std::string_view host) {
  std::string name(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (char &c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::optional<DnsCache::Answer> DnsCache::find(std::string_view host, Clock::time_point now) const {
  auto it = entries_.find(key(host));
  if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.answer;
}

void DnsCache::storeAddresses(std::string_view host, std::vector<SocketAddress> addresses,
                              std::chrono::seconds ttl, Clock::time_point now) {
  auto keep = std::min<std::chrono::milliseconds>(ttl, maxTtl_);
  if (addresses.empty() || keep.count() <= 0) return;
  insert(key(host), Entry{Answer{std::move(addresses), {}}, now + keep}, now);
}

void DnsCache::storeMissing(std::string_view host, std::string failure, Clock::time_point now) {
  if (negativeTtl_.count() <= 0) return;
  insert(key(host), Entry{Answer{{}, std::move(failure)}, now + negativeTtl_}, now);
}

void DnsCache::insert(std::string name, Entry entry, Clock::time_point now) {
  if (entries_.size() >= capacity_ && entries_.find(name) == entries_.end()) {
    // Full: expired entries go first; if none has, an arbitrary one makes room. A client naming
    // made-up hosts can only churn this cache, never grow it.
    std::erase_if(entries_, [now](const auto &e) { return e.second.expires <= now; });
    if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
  }
  entries_[std::move(name)] = std::move(entry);
}

} // namespace regcache::proxy::net
