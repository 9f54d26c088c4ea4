#pragma once
// A CompletionQueue that a test runs by hand, as a worker's loop would: callbacks wait until
// the test thread drains them, so a test can see that nothing ran inline and that a destroyed
// handle's queued completions do nothing.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "cache/blob_store.h"

namespace regcache::test {

class ManualCompletions final : public cache::CompletionQueue {
public:
  void post(std::function<void()> callback) override {
    {
      std::lock_guard lock(mutex_);
      queued_.push_back(std::move(callback));
    }
    wake_.notify_all();
  }

  std::size_t queued() {
    std::lock_guard lock(mutex_);
    return queued_.size();
  }

  // Waits (bounded) until at least `count` callbacks are queued; false on timeout.
  bool waitForQueued(std::size_t count, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, limit, [&] { return queued_.size() >= count; });
  }

  // Runs queued callbacks on this thread until `done()` holds or `limit` passes; false on
  // timeout.
  bool runUntil(const std::function<bool()> &done,
                std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      std::function<void()> next;
      {
        std::unique_lock lock(mutex_);
        if (!wake_.wait_until(lock, deadline, [&] { return !queued_.empty(); })) return false;
        next = std::move(queued_.front());
        queued_.pop_front();
      }
      next();
    }
    return true;
  }

  // Runs everything queued now.
  void runQueued() {
    for (;;) {
      std::function<void()> next;
      {
        std::lock_guard lock(mutex_);
        if (queued_.empty()) return;
        next = std::move(queued_.front());
        queued_.pop_front();
      }
      next();
    }
  }

private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queued_;
};

} // namespace regcache::test
