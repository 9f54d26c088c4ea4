#pragma once
// Hands work from any thread to one event loop: post() queues a task under a lock and wakes the
// loop (event_active is thread-safe once evthread_use_pthreads() ran), which runs the tasks in
// order. A pool thread finishing a job after the loop's owner went away is harmless: close()
// drops what is queued and turns later posts into no-ops, so the mailbox may outlive its loop
// (posters hold it by shared_ptr).
#include <functional>
#include <mutex>
#include <vector>

#include "base/event_handles.h"

namespace regcache::proxy::net {

class LoopMailbox {
public:
  // `base` must outlive the mailbox's open life (until close()).
  explicit LoopMailbox(event_base *base);
  ~LoopMailbox();
  LoopMailbox(const LoopMailbox &) = delete;
  LoopMailbox &operator=(const LoopMailbox &) = delete;

  // Any thread. Runs `task` on the loop's thread soon, unless close() came first (then it is
  // dropped unrun).
  void post(std::function<void()> task);
  // The loop's thread only, before the event_base goes: no task runs after this.
  void close();

private:
  static void onWake(evutil_socket_t, short, void *arg) noexcept;
  void runQueued();

  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
  bool closed_ = false;
  EventPtr wake_;
};

} // namespace regcache::proxy::net
