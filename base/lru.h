#pragma once
// A bounded least-recently-used map. Not thread-safe: callers that share one hold their own lock.
#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace regcache {

template <class Key, class Value, class Hash = std::hash<Key>> class LruCache {
public:
  // capacity: the most entries kept; 0 is treated as 1.
  explicit LruCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Returns a copy of the value and marks it most recently used, or nullopt.
  std::optional<Value> get(const Key &key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  // Inserts or replaces; evicts the least recently used entry when over capacity.
  void put(const Key &key, Value value) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    if (index_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  bool erase(const Key &key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  void clear() {
    index_.clear();
    order_.clear();
  }
  std::size_t size() const { return index_.size(); }
  // Copies of every entry, most recently used first, without touching the order.
  std::vector<std::pair<Key, Value>> entries() const { return {order_.begin(), order_.end()}; }
  std::size_t capacity() const { return capacity_; }

private:
  using Entry = std::pair<Key, Value>;
  std::size_t capacity_;
  std::list<Entry> order_; // front is most recently used
  std::unordered_map<Key, typename std::list<Entry>::iterator, Hash> index_;
};

} // namespace regcache
