#pragma once
// Pauses reading on a bufferevent for any number of independent reasons; reading resumes only
// when no reason is left. Each reason is a bit, so pausing twice for one reason is harmless.
//
// A reason may also be held lazily: it is recorded (paused(reason) says so) but reading goes on,
// so bytes that arrive meanwhile wait in the input buffer. The owner bounds that buffer and
// turns the lazy hold into a real one (pause(reason)) past its bound. A keep-alive connection
// whose next request has not arrived yet costs no epoll change per request that way.
#include <event2/bufferevent.h>

namespace regcache::proxy::net {

class ReadGate {
public:
  enum Reason : unsigned {
    kSinkFull = 1u << 0,     // the peer we forward to has not drained its output
    kParserPaused = 1u << 1, // a message ended; the next is read when this one is done
    kAwaitingUpstream = 1u << 2,
    kHandshake = 1u << 3,
    kStoreBusy = 1u << 4, // the blob store has too many of our bytes queued, or is committing
  };

  // bev may be null (nothing to gate yet). The gate does not own it.
  void attach(bufferevent *bev) {
    bev_ = bev;
    apply();
  }
  // Stops reading for `reason` (a lazy hold of it becomes a real one).
  void pause(Reason reason) {
    reasons_ |= reason;
    lazy_ &= ~static_cast<unsigned>(reason);
    apply();
  }
  // Records `reason` without stopping reads; a reason already held for real stays so.
  void pauseLazily(Reason reason) {
    if ((reasons_ & reason) == 0) lazy_ |= reason;
    reasons_ |= reason;
    apply();
  }
  void resume(Reason reason) {
    reasons_ &= ~static_cast<unsigned>(reason);
    lazy_ &= ~static_cast<unsigned>(reason);
    apply();
  }
  bool paused(Reason reason) const { return (reasons_ & reason) != 0; }
  bool paused() const { return reasons_ != 0; }
  // Whether `reason` is held, but only lazily (reads go on).
  bool pausedLazily(Reason reason) const { return (lazy_ & reason) != 0; }
  // Whether reads are stopped now.
  bool stopped() const { return (reasons_ & ~lazy_) != 0; }

private:
  void apply() {
    if (bev_ == nullptr) return;
    if (stopped()) {
      bufferevent_disable(bev_, EV_READ);
    } else {
      bufferevent_enable(bev_, EV_READ);
    }
  }

  bufferevent *bev_ = nullptr;
  unsigned reasons_ = 0;
  unsigned lazy_ = 0; // the subset of reasons_ held lazily
};

} // namespace regcache::proxy::net
