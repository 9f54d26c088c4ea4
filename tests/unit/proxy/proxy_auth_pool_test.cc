#include <catch2/catch.hpp>

#include <event2/thread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#include "base/base64.h"
#include "base/event_handles.h"
#include "proxy/proxy_auth_pool.h"

using namespace regcache;
using namespace regcache::proxy;
using namespace std::chrono_literals;

namespace {

// A loop the pool's results come back to, run until `done` or a deadline.
struct Loop {
  Loop() {
    static const bool threads = [] { return evthread_use_pthreads() == 0; }();
    (void)threads;
    base.reset(event_base_new());
    mailbox = std::make_shared<net::LoopMailbox>(base.get());
  }
  ~Loop() { mailbox->close(); }
  template <class Done> void runUntil(Done done) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      timeval tick{0, 10000};
      event_base_loopexit(base.get(), &tick);
      event_base_dispatch(base.get());
    }
  }
  EventBasePtr base;
  std::shared_ptr<net::LoopMailbox> mailbox;
};

std::shared_ptr<const PasswordCheck> needsHash(const ProxyUsers &users, const std::string &pair) {
  auto check = users.checkFast("Basic " + encodeBase64(pair), SystemClock::instance());
  REQUIRE(check.outcome == ProxyUsers::FastCheck::Outcome::kNeedsHash);
  return check.password;
}

} // namespace

TEST_CASE("the auth pool checks one header once, bounds each client, and answers on the loop",
          "[proxy_auth_pool]") {
  auto users = ProxyUsers::parse("alice:" + hashProxySecret("right", false) + "\n");
  REQUIRE(users.ok());
  Loop loop;
  ProxyAuthPool pool(users.value(), SystemClock::instance(), {1, 1, 64});
  std::vector<std::pair<std::string, bool>> answers;
  auto record = [&](std::string who) {
    return [&answers, who](bool verified) { answers.emplace_back(who, verified); };
  };
  auto wrong = needsHash(*users, "alice:wrong");
  CHECK(pool.submit("10.0.0.1", wrong, loop.mailbox, record("first")) ==
        ProxyAuthPool::Admission::kQueued);
  // The same header from anyone waits for that check: no second hash, no slot taken.
  CHECK(pool.submit("10.0.0.2", needsHash(*users, "alice:wrong"), loop.mailbox,
                    record("same header")) == ProxyAuthPool::Admission::kQueued);
  // Another header from the first client is past its bound of one.
  CHECK(pool.submit("10.0.0.1", needsHash(*users, "alice:other"), loop.mailbox, record("x")) ==
        ProxyAuthPool::Admission::kTooManyFromClient);
  CHECK(pool.submit("10.0.0.3", needsHash(*users, "alice:right"), loop.mailbox, record("right")) ==
        ProxyAuthPool::Admission::kQueued);
  loop.runUntil([&] { return answers.size() == 3; });
  REQUIRE(answers.size() == 3);
  std::sort(answers.begin(), answers.end());
  CHECK(answers[0] == std::pair<std::string, bool>{"first", false});
  CHECK(answers[1] == std::pair<std::string, bool>{"right", true});
  CHECK(answers[2] == std::pair<std::string, bool>{"same header", false});
  // The slot is free again once the check ended.
  CHECK(pool.submit("10.0.0.1", needsHash(*users, "alice:other"), loop.mailbox, record("later")) ==
        ProxyAuthPool::Admission::kQueued);
  loop.runUntil([&] { return answers.size() == 4; });
  CHECK(answers.size() == 4);
}

TEST_CASE("a result for a closed mailbox is dropped, never run", "[proxy_auth_pool]") {
  auto users = ProxyUsers::parse("alice:" + hashProxySecret("right", false) + "\n");
  REQUIRE(users.ok());
  std::atomic<int> ran{0};
  {
    Loop loop;
    ProxyAuthPool pool(users.value(), SystemClock::instance(), {1, 2, 64});
    CHECK(pool.submit("10.0.0.1", needsHash(*users, "alice:late"), loop.mailbox,
                      [&](bool) { ++ran; }) == ProxyAuthPool::Admission::kQueued);
    loop.mailbox->close(); // the worker goes away while the hash runs
    // The pool's destructor waits for the running check, which posts into the closed mailbox.
  }
  CHECK(ran == 0);
}
