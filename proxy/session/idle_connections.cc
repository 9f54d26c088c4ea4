#include "proxy/session/idle_connections.h"

#include <cassert>
#include <string>

#include "proxy/net/loop_mailbox.h"

namespace regcache::proxy {

IdleBound::Slot &IdleBound::join(IdleList &list, std::shared_ptr<net::LoopMailbox> mailbox) {
  Slot &slot = slots_.emplace_back();
  slot.list = &list;
  slot.mailbox = std::move(mailbox);
  return slot;
}

IdleBound::Slot *IdleBound::oldest() {
  Slot *best = nullptr;
  std::uint64_t bestTurn = kEmpty;
  for (Slot &slot : slots_) {
    std::uint64_t turn = slot.oldestTurn.load(std::memory_order_relaxed);
    if (turn < bestTurn) {
      best = &slot;
      bestTurn = turn;
    }
  }
  return best;
}

bool IdleBound::claimExcess() {
  std::size_t now = idle_.load(std::memory_order_relaxed);
  while (now > limit_) {
    if (idle_.compare_exchange_weak(now, now - 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void IdleBound::askTrim(Slot &slot) {
  if (slot.trimAsked.exchange(true, std::memory_order_acq_rel)) return;
  // The slot outlives every worker; its list is read on the list's own loop, where it is also
  // destroyed (and the mailbox drops what is queued once its worker has gone).
  Slot *target = &slot;
  slot.mailbox->post([target] {
    if (target->list != nullptr) target->list->trim();
  });
}

IdleList::Entry::~Entry() {
  if (list_ != nullptr) list_->markBusy(*this);
}

IdleList::IdleList(IdleBound &bound, std::shared_ptr<net::LoopMailbox> mailbox)
    : bound_(bound), slot_(bound.join(*this, std::move(mailbox))) {}

IdleList::~IdleList() {
  while (head_ != nullptr)
    markBusy(*head_);
  slot_.oldestTurn.store(IdleBound::kEmpty, std::memory_order_relaxed);
  slot_.list = nullptr;
}

void IdleList::markIdle(Entry &entry) {
  if (entry.list_ != nullptr || bound_.limit_ == 0) return;
  entry.turn_ = bound_.turns_.fetch_add(1, std::memory_order_relaxed);
  link(entry);
  bound_.idle_.fetch_add(1, std::memory_order_relaxed);
  if (!bound_.over()) return;
  IdleBound::Slot *oldest = bound_.oldest();
  bound_.askTrim(oldest != nullptr ? *oldest : slot_);
}

void IdleList::markBusy(Entry &entry) {
  if (entry.list_ != this) return;
  unlink(entry);
  bound_.idle_.fetch_sub(1, std::memory_order_relaxed);
}

void IdleList::trim() {
  slot_.trimAsked.store(false, std::memory_order_release);
  while (bound_.over()) {
    IdleBound::Slot *oldest = bound_.oldest();
    if (oldest == nullptr) return; // the count is ahead of the lists for a moment
    if (oldest != &slot_) {
      bound_.askTrim(*oldest);
      return;
    }
    if (!bound_.claimExcess()) return;
    // Claimed: off the count already, so out of the list without counting it again.
    Entry &victim = *head_;
    unlink(victim);
    if (victim.closeIdle_()) bound_.closed_.fetch_add(1, std::memory_order_relaxed);
  }
}

void IdleList::link(Entry &entry) {
  // Turns come from one sequence, so the newest idle connection always belongs at the tail.
  entry.list_ = this;
  entry.prev_ = tail_;
  entry.next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = &entry;
  } else {
    head_ = &entry;
  }
  tail_ = &entry;
  ++size_;
  if (head_ == &entry) publishOldest();
}

void IdleList::unlink(Entry &entry) {
  assert(entry.list_ == this);
  bool wasHead = head_ == &entry;
  if (entry.prev_ != nullptr) {
    entry.prev_->next_ = entry.next_;
  } else {
    head_ = entry.next_;
  }
  if (entry.next_ != nullptr) {
    entry.next_->prev_ = entry.prev_;
  } else {
    tail_ = entry.prev_;
  }
  entry.list_ = nullptr;
  entry.prev_ = entry.next_ = nullptr;
  --size_;
  if (wasHead) publishOldest();
}

void IdleList::publishOldest() {
  slot_.oldestTurn.store(head_ != nullptr ? head_->turn_ : IdleBound::kEmpty,
                         std::memory_order_relaxed);
}

} // namespace regcache::proxy
