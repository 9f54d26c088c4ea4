#pragma once
// Keeps a handle's promise that none of its completions runs after it is destroyed, even one
// already queued. The handle owns a CompletionGuard; I/O jobs carry a Poster (a copy of its
// shared state). Posting and running both check, under a lock the guard's destructor also
// takes, that the handle still lives: so a job finishing after the handle went posts nothing
// (the handle's queue may be gone by then too), and a completion queued before runs nothing.
// On a loop the lock is never contended (handle and completions share the thread); with
// InlineCompletions the destructor waits for a completion running on an I/O thread. Recursive,
// so a completion may destroy its own handle.
#include <functional>
#include <memory>
#include <mutex>

#include "cache/blob_store.h"

namespace regcache::cache {

class CompletionGuard {
  struct State {
    std::recursive_mutex mutex;
    bool alive = true;
    CompletionQueue *queue;
  };

public:
  // `queue` must outlive the guard.
  explicit CompletionGuard(CompletionQueue &queue) : state_(std::make_shared<State>()) {
    state_->queue = &queue;
  }
  // Marks the handle gone: completions not yet run never will.
  ~CompletionGuard() {
    std::lock_guard lock(state_->mutex);
    state_->alive = false;
  }
  CompletionGuard(const CompletionGuard &) = delete;
  CompletionGuard &operator=(const CompletionGuard &) = delete;

  class Poster {
  public:
    // Any thread. Runs `callback` through the handle's queue, only while the handle lives.
    void post(std::function<void()> callback) const {
      std::lock_guard lock(state_->mutex);
      if (!state_->alive) return;
      state_->queue->post([state = state_, callback = std::move(callback)] {
        std::lock_guard inner(state->mutex);
        if (state->alive) callback();
      });
    }

  private:
    friend class CompletionGuard;
    explicit Poster(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
  };
  Poster poster() const { return Poster(state_); }
  void post(std::function<void()> callback) const { poster().post(std::move(callback)); }

private:
  std::shared_ptr<State> state_;
};

} // namespace regcache::cache
