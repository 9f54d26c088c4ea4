#include "proxy/net/loop_mailbox.h"

namespace regcache::proxy::net {

LoopMailbox::LoopMailbox(event_base *base)
    : wake_(event_new(base, -1, 0, &LoopMailbox::onWake, this)) {}

LoopMailbox::~LoopMailbox() { close(); }

void LoopMailbox::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (closed_ || !wake_) return;
  tasks_.push_back(std::move(task));
  // Under the lock, so close() cannot free the event between the check and this call.
  event_active(wake_.get(), EV_TIMEOUT, 0);
}

void LoopMailbox::close() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(tasks_);
  }
  wake_.reset();
  // `dropped` goes here, outside the lock: a task's captures may take time to free.
}

void LoopMailbox::onWake(evutil_socket_t, short, void *arg) noexcept {
  static_cast<LoopMailbox *>(arg)->runQueued();
}

void LoopMailbox::runQueued() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto &task : tasks)
    task(); // a task may post more: they run on the next wake
}

} // namespace regcache::proxy::net
