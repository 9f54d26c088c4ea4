#include "proxy/net/dns_server_order.h"

#include <algorithm>

namespace regcache::proxy::net {
namespace {

std::string join(const std::vector<std::string> &servers) {
  std::string csv;
  for (const auto &s : servers) {
    if (!csv.empty()) csv += ',';
    csv += s;
  }
  return csv;
}

} // namespace

DnsServerOrder::DnsServerOrder(std::vector<std::string> configured)
    : configured_(std::move(configured)), order_(configured_) {}

std::string DnsServerOrder::current() const {
  std::lock_guard lock(mutex_);
  return join(order_);
}

unsigned DnsServerOrder::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

DnsServerOrder::Snapshot DnsServerOrder::snapshot() const {
  std::lock_guard lock(mutex_);
  return Snapshot{generation_, join(order_), reordered_};
}

std::optional<std::string> DnsServerOrder::onQueryDone(int timeouts, unsigned startedIn,
                                                       Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (timeouts <= 0 || order_.size() < 2 || startedIn != generation_) return std::nullopt;
  ++generation_;
  std::rotate(order_.begin(), order_.begin() + 1, order_.end());
  reordered_ = true;
  reorderedAt_ = now;
  return join(order_);
}

std::optional<std::string> DnsServerOrder::beforeLookup(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!reordered_ || now - reorderedAt_ < kRetryAfter) return std::nullopt;
  reordered_ = false;
  ++generation_;
  order_ = configured_;
  return join(order_);
}

} // namespace regcache::proxy::net
