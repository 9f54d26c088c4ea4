#pragma once
// Wall-clock time behind an interface, so certificate validity and rotation can be tested in
// simulated time.
#include <atomic>
#include <chrono>

namespace regcache {

class Clock {
public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  static const SystemClock &instance() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
public:
  explicit ManualClock(TimePoint start) : now_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(TimePoint::duration(now_.load())); }
  void advance(std::chrono::seconds by) {
    now_ += std::chrono::duration_cast<TimePoint::duration>(by).count();
  }

private:
  std::atomic<TimePoint::rep> now_;
};

} // namespace regcache
