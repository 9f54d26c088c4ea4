#pragma once
// A few threads that do a store's blocking work (open, write, fsync, rename, hashing), so that
// no event loop waits on a disk. Jobs that must keep their order (one write's appends and its
// commit) go through a Strand: they run one after another, never two at once, on whichever pool
// thread is free.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace regcache::cache {

class IoPool {
public:
  // Starts `threads` threads (at least one), named `name` (at most 15 characters: what
  // `ps -L` and perf show, so a profile tells the file store's threads from the bucket's).
  explicit IoPool(unsigned threads, const char *name = "store-io");
  // Runs every job already queued, then joins the threads.
  ~IoPool();
  IoPool(const IoPool &) = delete;
  IoPool &operator=(const IoPool &) = delete;

  // Any thread. Runs `job` on a pool thread soon, in no particular order with other posts.
  void post(std::function<void()> job);

  // Jobs posted to one strand run in the order they were posted, one at a time.
  class Strand : public std::enable_shared_from_this<Strand> {
  public:
    explicit Strand(IoPool &pool) : pool_(pool) {}
    // Any thread.
    void post(std::function<void()> job);

  private:
    void drain();
    IoPool &pool_;
    std::mutex mutex_;
    std::deque<std::function<void()>> jobs_;
    bool scheduled_ = false;
  };
  // A new strand on this pool; it must not outlive the pool.
  std::shared_ptr<Strand> strand() { return std::make_shared<Strand>(*this); }

private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace regcache::cache
