#include "cache/io_pool.h"

#include <pthread.h>

namespace regcache::cache {
namespace {
// A strand gives its thread back after this many jobs, so one busy write cannot hold a pool
// thread while others wait.
constexpr int kJobsPerTurn = 16;
} // namespace

IoPool::IoPool(unsigned threads, const char *name) {
  if (threads == 0) threads = 1;
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
    pthread_setname_np(threads_.back().native_handle(), name); // a failure only loses the name
  }
}

IoPool::~IoPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto &thread : threads_)
    thread.join();
}

void IoPool::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void IoPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return; // stopping, and nothing is left to run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void IoPool::Strand::post(std::function<void()> job) {
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    schedule = !scheduled_;
    scheduled_ = true;
  }
  if (schedule) pool_.post([self = shared_from_this()] { self->drain(); });
}

void IoPool::Strand::drain() {
  for (int done = 0; done < kJobsPerTurn; ++done) {
    std::function<void()> job;
    {
      std::lock_guard lock(mutex_);
      if (jobs_.empty()) {
        scheduled_ = false;
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
  pool_.post([self = shared_from_this()] { self->drain(); }); // more left: queue behind others
}

} // namespace regcache::cache
