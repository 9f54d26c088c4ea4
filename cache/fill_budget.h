#pragma once
// Bytes that fills in flight will add to the cache, counted against --cache-max-size. The index
// only knows committed blobs, so without this many concurrent large fills (or one hostile
// upstream announcing a huge length) could fill the disk far past the limit before the evictor
// saw any of it. Committed content can be evicted to make room; fills in flight cannot, so a fill
// that does not fit beside them is not started (the response passes through). Thread-safe.
#include <atomic>
#include <cstdint>
#include <optional>

namespace regcache::cache {

class FillBudget {
public:
  // Bytes a fill has announced, held until it commits or is abandoned. Movable, not copyable.
  class Reservation {
  public:
    Reservation() = default;
    ~Reservation() { release(); }
    Reservation(Reservation &&other) noexcept;
    Reservation &operator=(Reservation &&other) noexcept;
    Reservation(const Reservation &) = delete;
    Reservation &operator=(const Reservation &) = delete;
    // Gives the bytes back now (idempotent): after a commit they are counted by the index.
    void release();

  private:
    friend class FillBudget;
    FillBudget *owner_ = nullptr;
    std::uint64_t bytes_ = 0;
  };

  // `limit` 0: no limit (reservations are still counted).
  explicit FillBudget(std::uint64_t limit) : limit_(limit) {}
  FillBudget(const FillBudget &) = delete;
  FillBudget &operator=(const FillBudget &) = delete;

  // Reserves `bytes`, or nullopt when the reservations in flight plus `bytes` exceed the limit.
  // The reservation must not outlive the budget.
  std::optional<Reservation> reserve(std::uint64_t bytes);
  // Bytes reserved by fills in flight now.
  std::uint64_t reserved() const { return reserved_.load(std::memory_order_acquire); }
  std::uint64_t limit() const { return limit_.load(std::memory_order_acquire); }
  // A new --cache-max-size (SIGHUP) for every later reserve(); reservations already held stay.
  // Thread-safe.
  void setLimit(std::uint64_t limit) { limit_.store(limit, std::memory_order_release); }

private:
  std::atomic<std::uint64_t> limit_;
  std::atomic<std::uint64_t> reserved_{0};
};

} // namespace regcache::cache
