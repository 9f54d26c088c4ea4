#include "proxy/access/proxy_auth_pool.h"

#include <algorithm>

namespace regcache::proxy {

ProxyAuthPool::ProxyAuthPool(const Clock &clock, Limits limits) : clock_(clock), limits_(limits) {
  for (unsigned i = 0; i < std::max(1u, limits_.threads); ++i)
    threads_.emplace_back([this] { run(); });
}

ProxyAuthPool::~ProxyAuthPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto &thread : threads_)
    thread.join();
}

ProxyAuthPool::Admission ProxyAuthPool::submit(const std::string &client,
                                               std::shared_ptr<const ProxyUsers> users,
                                               std::shared_ptr<const PasswordCheck> password,
                                               std::shared_ptr<net::LoopMailbox> mailbox,
                                               Done done) {
  Key key{users.get(), password->headerHash};
  std::lock_guard lock(mutex_);
  if (auto same = jobs_.find(key); same != jobs_.end()) {
    // The same header is being checked already (a client opening many connections at once):
    // wait for that result, at no cost.
    same->second->waiters.push_back({std::move(mailbox), std::move(done)});
    return Admission::kQueued;
  }
  std::size_t &mine = perClient_[client];
  if (mine >= limits_.perClient) {
    if (mine == 0) perClient_.erase(client);
    return Admission::kTooManyFromClient;
  }
  if (queue_.size() >= limits_.queued) {
    if (mine == 0) perClient_.erase(client);
    return Admission::kBusy;
  }
  ++mine;
  auto job = std::make_shared<Job>();
  job->client = client;
  job->users = std::move(users);
  job->password = std::move(password);
  job->waiters.push_back({std::move(mailbox), std::move(done)});
  jobs_.emplace(key, std::move(job));
  queue_.push_back(std::move(key));
  wake_.notify_one();
  return Admission::kQueued;
}

void ProxyAuthPool::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Key key = std::move(queue_.front());
    queue_.pop_front();
    std::shared_ptr<Job> job = jobs_.at(key);
    lock.unlock();
    bool verified = job->users->checkSlow(*job->password, clock_);
    lock.lock();
    // Waiters that joined while the hash ran are in the job too: take them all under the lock.
    jobs_.erase(key);
    if (auto it = perClient_.find(job->client); it != perClient_.end() && --it->second == 0) {
      perClient_.erase(it);
    }
    std::vector<Waiter> waiters = std::move(job->waiters);
    lock.unlock();
    for (auto &waiter : waiters) {
      waiter.mailbox->post([done = std::move(waiter.done), verified] { done(verified); });
    }
    lock.lock();
  }
}

} // namespace regcache::proxy
