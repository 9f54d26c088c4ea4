#include "cache/fill_budget.h"

#include <utility>

namespace regcache::cache {

FillBudget::Reservation::Reservation(Reservation &&other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

FillBudget::Reservation &FillBudget::Reservation::operator=(Reservation &&other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void FillBudget::Reservation::release() {
  if (owner_ != nullptr) owner_->reserved_.fetch_sub(bytes_, std::memory_order_acq_rel);
  owner_ = nullptr;
  bytes_ = 0;
}

std::optional<FillBudget::Reservation> FillBudget::reserve(std::uint64_t bytes) {
  const std::uint64_t limit = limit_.load(std::memory_order_acquire);
  std::uint64_t current = reserved_.load(std::memory_order_acquire);
  do {
    if (limit != 0 && (bytes > limit || current > limit - bytes)) return std::nullopt;
  } while (!reserved_.compare_exchange_weak(current, current + bytes, std::memory_order_acq_rel,
                                            std::memory_order_acquire));
  Reservation reservation;
  reservation.owner_ = this;
  reservation.bytes_ = bytes;
  return reservation;
}

} // namespace regcache::cache
