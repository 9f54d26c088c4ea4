#pragma once
// Background housekeeping: runs `work` on a thread of its own right away and then every
// `interval`, until stop(), which wakes it at once instead of waiting out the interval.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace regcache {

class PeriodicThread {
public:
  PeriodicThread(std::chrono::milliseconds interval, std::function<void()> work);
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread &) = delete;
  PeriodicThread &operator=(const PeriodicThread &) = delete;

  void start();
  // Waits for a run in progress to end; idempotent.
  void stop();

private:
  std::chrono::milliseconds interval_;
  std::function<void()> work_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace regcache
