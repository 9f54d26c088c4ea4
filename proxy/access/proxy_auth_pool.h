#pragma once
// Runs the slow half of proxy-auth checks (ProxyUsers::checkSlow, PBKDF2) on a few threads of its
// own, so a burst of password logins, right or wrong, never stalls an event loop. Each result is
// handed back to the loop that asked, through its LoopMailbox.
//
// What a client can make it do is bounded:
// - a header already being checked is not checked twice: its askers wait for the one result;
// - one client address has at most `perClient` distinct checks queued or running;
// - at most `queued` checks wait in all.
// Past a bound, submit() refuses at once and the caller answers without hashing.
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "proxy/access/proxy_users.h"
#include "proxy/net/loop_mailbox.h"

namespace regcache::proxy {

class ProxyAuthPool {
public:
  struct Limits {
    unsigned threads = 1;
    std::size_t perClient = 2;
    std::size_t queued = 64;
  };
  // `clock` must outlive the pool. The users come with each check: SIGHUP may replace them.
  ProxyAuthPool(const Clock &clock, Limits limits);
  // Stops the threads once their current check ends; queued checks are dropped, their callbacks
  // never run.
  ~ProxyAuthPool();
  ProxyAuthPool(const ProxyAuthPool &) = delete;
  ProxyAuthPool &operator=(const ProxyAuthPool &) = delete;

  enum class Admission {
    kQueued,            // `done` will run on `mailbox`'s loop, unless it closes first
    kTooManyFromClient, // `client` already has `perClient` checks in flight
    kBusy,              // `queued` checks wait already
  };
  // Runs on the asker's loop with the outcome: true when the password matched.
  using Done = std::function<void(bool verified)>;

  // Any thread. `client` is the asker's address (the unit of the per-client bound); `users` is
  // the snapshot the asker's fast check used (never null), kept until the check ends. Only askers
  // with the same snapshot share a check: after a reload, a header is checked against the new
  // file, never answered from a check against the old one.
  Admission submit(const std::string &client, std::shared_ptr<const ProxyUsers> users,
                   std::shared_ptr<const PasswordCheck> password,
                   std::shared_ptr<net::LoopMailbox> mailbox, Done done);

private:
  struct Waiter {
    std::shared_ptr<net::LoopMailbox> mailbox;
    Done done;
  };
  // A check is shared by the users snapshot and the header hash.
  using Key = std::pair<const ProxyUsers *, std::string>;
  struct Job {
    std::string client;
    std::shared_ptr<const ProxyUsers> users; // keeps the key's pointer alive and unique
    std::shared_ptr<const PasswordCheck> password;
    std::vector<Waiter> waiters;
  };
  void run();

  const Clock &clock_;
  const Limits limits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<Key> queue_;                        // oldest first
  std::map<Key, std::shared_ptr<Job>> jobs_;     // queued or running
  std::map<std::string, std::size_t> perClient_; // in-flight checks by client address
  std::vector<std::thread> threads_;
};

} // namespace regcache::proxy
