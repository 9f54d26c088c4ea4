#pragma once
// The bound on idle client connections across every worker (--max-idle-connections). A
// connection waiting between two requests (after a response, nothing of the next one read, no
// tunnel) costs memory for nobody: about 17 KiB when intercepted, 15 of them OpenSSL's live
// state, which no buffer option frees (docs/BENCHMARKS.md, workload 7). Past the bound the
// longest-idle ones are closed, oldest first, as nginx's keepalive limits and haproxy's idle
// connection limits do. Closing a keep-alive connection while it is idle is legal HTTP/1.1, and
// clients (Go's net/http in dockerd, containerd, skopeo) retry an idempotent request on it.
//
// Bookkeeping is O(1) per connection and lock-free: each worker keeps its idle connections in an
// intrusive list, oldest at the head; the count is one atomic shared by every worker; each
// worker publishes when its head turned idle (a turn number from one shared sequence). Turning
// idle costs two atomic adds and a relaxed store; turning busy one add and a store. When the
// count passes the bound, the worker whose head is the oldest of all closes it. A worker that
// notices the excess but does not hold the oldest asks the one that does through its mailbox, so
// the order is the process's, not each worker's.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

namespace regcache::proxy {

namespace net {
class LoopMailbox;
}

class IdleList;

// Process-wide: the bound, the count and every worker's list. Thread-safe once the workers run;
// the lists join before that.
class IdleBound {
public:
  // `limit` idle connections at most across the process; 0: no bound (nothing is counted).
  explicit IdleBound(std::size_t limit) : limit_(limit) {}
  IdleBound(const IdleBound &) = delete;
  IdleBound &operator=(const IdleBound &) = delete;

  std::size_t limit() const { return limit_; }
  // Idle connections now, across every worker (always 0 without a bound).
  std::size_t idle() const { return idle_.load(std::memory_order_relaxed); }
  // Idle connections the bound has closed since start (/metrics: renderIdleConnections).
  std::uint64_t closed() const { return closed_.load(std::memory_order_relaxed); }

private:
  friend class IdleList;
  static constexpr std::uint64_t kEmpty = UINT64_MAX;
  // One worker's list as the others see it.
  struct Slot {
    IdleList *list = nullptr;
    std::shared_ptr<net::LoopMailbox> mailbox;
    std::atomic<std::uint64_t> oldestTurn{kEmpty}; // when its head turned idle; kEmpty: none
    std::atomic<bool> trimAsked{false};            // a trim is queued on its loop already
  };

  // Before the workers run: `list` lives on the loop behind `mailbox`.
  Slot &join(IdleList &list, std::shared_ptr<net::LoopMailbox> mailbox);
  // The slot whose head is the oldest idle connection of the process; null when none has one.
  Slot *oldest();
  // Takes one connection off the count if the count is over the bound: the caller then closes
  // it. False when the count is within the bound.
  bool claimExcess();
  bool over() const { return idle() > limit_; }
  // Runs a trim on `slot`'s loop soon, once however often it is asked before it runs.
  void askTrim(Slot &slot);

  const std::size_t limit_;
  std::atomic<std::size_t> idle_{0};
  std::atomic<std::uint64_t> closed_{0};
  std::atomic<std::uint64_t> turns_{0};
  std::deque<Slot> slots_; // grows only before the workers run
};

// One worker's idle connections, oldest first. Its loop thread only.
class IdleList {
public:
  // A connection's place in the list, a member of its session. Unlinks itself when destroyed.
  class Entry {
  public:
    // `closeIdle` runs on the loop when the bound picks this connection. It closes the
    // connection and returns true, or returns false when the connection is no longer idle (bytes
    // of a request came in): it then stays open, out of the list, until it is idle again.
    explicit Entry(std::function<bool()> closeIdle) : closeIdle_(std::move(closeIdle)) {}
    ~Entry();
    Entry(const Entry &) = delete;
    Entry &operator=(const Entry &) = delete;
    bool idle() const { return list_ != nullptr; }

  private:
    friend class IdleList;
    std::function<bool()> closeIdle_;
    IdleList *list_ = nullptr;
    Entry *prev_ = nullptr; // toward the head (older)
    Entry *next_ = nullptr; // toward the tail (newer)
    std::uint64_t turn_ = 0;
  };

  // Joins `bound`, which must outlive the list, before the workers run. Trims run on the loop
  // behind `mailbox` (this list's own).
  IdleList(IdleBound &bound, std::shared_ptr<net::LoopMailbox> mailbox);
  ~IdleList();
  IdleList(const IdleList &) = delete;
  IdleList &operator=(const IdleList &) = delete;

  // The connection turned idle: it goes to the tail, and past the bound a trim is queued (never
  // run inside this call, so the caller's own session is never closed under it). No-op when it
  // is idle already or there is no bound.
  void markIdle(Entry &entry);
  // The connection is busy (a request started, a tunnel opened) or closing: out of the list.
  // No-op when it is not idle.
  void markBusy(Entry &entry);
  std::size_t size() const { return size_; }

  // Closes the oldest idle connections while the process is over the bound and this list holds
  // the oldest of all; asks the worker that holds it otherwise. Runs from the mailbox.
  void trim();

private:
  void link(Entry &entry);
  void unlink(Entry &entry);
  void publishOldest();

  IdleBound &bound_;
  IdleBound::Slot &slot_;
  Entry *head_ = nullptr;
  Entry *tail_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace regcache::proxy
