// The idle bound's bookkeeping, with two "workers" (a loop and a list each) run by hand on this
// thread: which connection is closed, in what order, and what is counted.
#include <catch2/catch.hpp>

#include <event2/event.h>

#include <memory>
#include <string>
#include <vector>

#include "base/event_handles.h"
#include "proxy/net/loop_mailbox.h"
#include "proxy/session/idle_connections.h"

using regcache::EventBasePtr;
using regcache::proxy::IdleBound;
using regcache::proxy::IdleList;
using regcache::proxy::net::LoopMailbox;

namespace {

// One worker's loop, mailbox and idle list.
struct FakeWorker {
  EventBasePtr base{event_base_new()};
  std::shared_ptr<LoopMailbox> mailbox = std::make_shared<LoopMailbox>(base.get());
  IdleList list;
  explicit FakeWorker(IdleBound &bound) : list(bound, mailbox) {}
  ~FakeWorker() { mailbox->close(); }
  void runOnce() { event_base_loop(base.get(), EVLOOP_NONBLOCK); }
};

// Runs both loops until neither has anything queued (bounded).
void settle(FakeWorker &a, FakeWorker &b) {
  for (int i = 0; i < 20; ++i) {
    a.runOnce();
    b.runOnce();
  }
}

// A connection that records its name in `closed` when the bound closes it.
std::unique_ptr<IdleList::Entry> connection(std::vector<std::string> &closed, std::string name,
                                            bool stillIdle = true) {
  return std::make_unique<IdleList::Entry>([&closed, name, stillIdle] {
    if (stillIdle) closed.push_back(name);
    return stillIdle;
  });
}

} // namespace

TEST_CASE("past the bound the longest-idle connections of the process close first, on any worker",
          "[idle][proxy]") {
  IdleBound bound(2);
  FakeWorker a(bound), b(bound);
  std::vector<std::string> closed;
  auto a1 = connection(closed, "a1"), b1 = connection(closed, "b1");
  auto a2 = connection(closed, "a2"), b2 = connection(closed, "b2");
  a.list.markIdle(*a1);
  b.list.markIdle(*b1);
  a.list.markIdle(*a2);
  CHECK(closed.empty()); // never inside markIdle: the trim is queued
  b.list.markIdle(*b2);
  CHECK(bound.idle() == 4);
  settle(a, b);
  CHECK(closed == std::vector<std::string>{"a1", "b1"});
  CHECK(bound.idle() == 2);
  CHECK(bound.closed() == 2);
  CHECK(a.list.size() == 1);
  CHECK(b.list.size() == 1);
  CHECK(a2->idle());
  CHECK(b2->idle());
  CHECK_FALSE(a1->idle());
}

TEST_CASE("a connection busy again leaves the idle order and rejoins it as the newest",
          "[idle][proxy]") {
  IdleBound bound(2);
  FakeWorker a(bound), b(bound);
  std::vector<std::string> closed;
  auto first = connection(closed, "first"), second = connection(closed, "second");
  auto third = connection(closed, "third");
  a.list.markIdle(*first);
  b.list.markIdle(*second);
  a.list.markBusy(*first); // a request came in on it
  CHECK(bound.idle() == 1);
  a.list.markIdle(*first); // answered: idle again, and now the newest
  a.list.markIdle(*first); // no-op: already idle
  CHECK(bound.idle() == 2);
  b.list.markIdle(*third);
  settle(a, b);
  CHECK(closed == std::vector<std::string>{"second"});
  CHECK(bound.idle() == 2);
}

TEST_CASE("a connection that started a request when its turn came stays open and uncounted",
          "[idle][proxy]") {
  IdleBound bound(1);
  FakeWorker a(bound), b(bound);
  std::vector<std::string> closed;
  auto reading = connection(closed, "reading", false); // bytes of a request arrived
  auto idle = connection(closed, "idle");
  a.list.markIdle(*reading);
  a.list.markIdle(*idle);
  settle(a, b);
  CHECK(closed.empty());
  CHECK(bound.closed() == 0);
  CHECK(bound.idle() == 1); // only `idle` is counted
  CHECK_FALSE(reading->idle());
  CHECK(idle->idle());
}

TEST_CASE("a connection freed while idle leaves the count; no bound counts nothing",
          "[idle][proxy]") {
  std::vector<std::string> closed;
  {
    IdleBound bound(5);
    FakeWorker a(bound), b(bound);
    auto gone = connection(closed, "gone");
    a.list.markIdle(*gone);
    CHECK(bound.idle() == 1);
    gone.reset();
    CHECK(bound.idle() == 0);
    CHECK(a.list.size() == 0);
  }
  IdleBound unbounded(0);
  FakeWorker a(unbounded), b(unbounded);
  auto one = connection(closed, "one"), two = connection(closed, "two");
  a.list.markIdle(*one);
  b.list.markIdle(*two);
  settle(a, b);
  CHECK(unbounded.idle() == 0);
  CHECK_FALSE(one->idle());
  CHECK(closed.empty());
  CHECK(unbounded.closed() == 0);
}
