#pragma once
// A value SIGHUP may replace while workers read it: an immutable T behind an atomic
// shared_ptr. A reader takes one load() per decision (an accept, a request) and keeps that
// snapshot for as long as it uses it, so a swap never changes a value under a running check and
// never frees one still in use; the old value goes when its last reader lets go.
#include <atomic>
#include <memory>

namespace regcache::proxy {

template <class T> class Reloadable {
public:
  Reloadable() = default;
  explicit Reloadable(std::shared_ptr<const T> value) : value_(std::move(value)) {}
  Reloadable(const Reloadable &) = delete;
  Reloadable &operator=(const Reloadable &) = delete;

  // The current value (may be null where null has a meaning, e.g. "no proxy users").
  // Thread-safe.
  std::shared_ptr<const T> load() const noexcept { return value_.load(std::memory_order_acquire); }
  // Replaces the value for every later load(). Thread-safe.
  void store(std::shared_ptr<const T> value) noexcept {
    value_.store(std::move(value), std::memory_order_release);
  }

private:
  std::atomic<std::shared_ptr<const T>> value_;
};

} // namespace regcache::proxy
