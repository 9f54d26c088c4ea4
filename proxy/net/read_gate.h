#pragma once
// Pauses reading on a bufferevent for any number of independent reasons; reading resumes only
// when no reason is left. Each reason is a bit, so pausing twice for one reason is harmless.
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
  void pause(Reason reason) {
    reasons_ |= reason;
    apply();
  }
  void resume(Reason reason) {
    reasons_ &= ~static_cast<unsigned>(reason);
    apply();
  }
  bool paused(Reason reason) const { return (reasons_ & reason) != 0; }
  bool paused() const { return reasons_ != 0; }

private:
  void apply() {
    if (bev_ == nullptr) return;
    if (reasons_ != 0) {
      bufferevent_disable(bev_, EV_READ);
    } else {
      bufferevent_enable(bev_, EV_READ);
    }
  }

  bufferevent *bev_ = nullptr;
  unsigned reasons_ = 0;
};

} // namespace regcache::proxy::net
