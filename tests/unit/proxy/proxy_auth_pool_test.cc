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
  auto parsed = ProxyUsers::parse("alice:" + hashProxySecret("right", false) + "\n");
  REQUIRE(parsed.ok());
  auto users = std::make_shared<const ProxyUsers>(std::move(parsed.value()));
  Loop loop;
  ProxyAuthPool pool(SystemClock::instance(), {1, 1, 64});
  std::vector<std::pair<std::string, bool>> answers;
  auto record = [&](std::string who) {
    return [&answers, who](bool verified) { answers.emplace_back(who, verified); };
  };
  auto wrong = needsHash(*users, "alice:wrong");
  CHECK(pool.submit("10.0.0.1", users, wrong, loop.mailbox, record("first")) ==
        ProxyAuthPool::Admission::kQueued);
  // The same header from anyone waits for that check: no second hash, no slot taken.
  CHECK(pool.submit("10.0.0.2", users, needsHash(*users, "alice:wrong"), loop.mailbox,
                    record("same header")) == ProxyAuthPool::Admission::kQueued);
  // Another header from the first client is past its bound of one.
  CHECK(pool.submit("10.0.0.1", users, needsHash(*users, "alice:other"), loop.mailbox,
                    record("x")) == ProxyAuthPool::Admission::kTooManyFromClient);
  CHECK(pool.submit("10.0.0.3", users, needsHash(*users, "alice:right"), loop.mailbox,
                    record("right")) == ProxyAuthPool::Admission::kQueued);
  loop.runUntil([&] { return answers.size() == 3; });
  REQUIRE(answers.size() == 3);
  std::sort(answers.begin(), answers.end());
  CHECK(answers[0] == std::pair<std::string, bool>{"first", false});
  CHECK(answers[1] == std::pair<std::string, bool>{"right", true});
  CHECK(answers[2] == std::pair<std::string, bool>{"same header", false});
  // The slot is free again once the check ended.
  CHECK(pool.submit("10.0.0.1", users, needsHash(*users, "alice:other"), loop.mailbox,
                    record("later")) == ProxyAuthPool::Admission::kQueued);
  loop.runUntil([&] { return answers.size() == 4; });
  CHECK(answers.size() == 4);
}

TEST_CASE("a result for a closed mailbox is dropped, never run", "[proxy_auth_pool]") {
  auto parsed = ProxyUsers::parse("alice:" + hashProxySecret("right", false) + "\n");
  REQUIRE(parsed.ok());
  auto users = std::make_shared<const ProxyUsers>(std::move(parsed.value()));
  std::atomic<int> ran{0};
  {
    Loop loop;
    ProxyAuthPool pool(SystemClock::instance(), {1, 2, 64});
    CHECK(pool.submit("10.0.0.1", users, needsHash(*users, "alice:late"), loop.mailbox,
                      [&](bool) { ++ran; }) == ProxyAuthPool::Admission::kQueued);
    loop.mailbox->close(); // the worker goes away while the hash runs
    // The pool's destructor waits for the running check, which posts into the closed mailbox.
  }
  CHECK(ran == 0);
}

TEST_CASE("after a reload a header is checked against the new users, not joined to the old check",
          "[proxy_auth_pool]") {
  auto parse = [](const std::string &password) {
    auto parsed = ProxyUsers::parse("alice:" + hashProxySecret(password, false) + "\n");
    REQUIRE(parsed.ok());
    return std::make_shared<const ProxyUsers>(std::move(parsed.value()));
  };
  auto before = parse("old");
  auto after = parse("new"); // the file SIGHUP read: alice's password changed
  Loop loop;
  ProxyAuthPool pool(SystemClock::instance(), {1, 2, 64});
  std::vector<std::pair<std::string, bool>> answers;
  auto record = [&](std::string who) {
    return [&answers, who](bool verified) { answers.emplace_back(who, verified); };
  };
  CHECK(pool.submit("10.0.0.1", before, needsHash(*before, "alice:old"), loop.mailbox,
                    record("before")) == ProxyAuthPool::Admission::kQueued);
  CHECK(pool.submit("10.0.0.2", after, needsHash(*after, "alice:old"), loop.mailbox,
                    record("after")) == ProxyAuthPool::Admission::kQueued);
  loop.runUntil([&] { return answers.size() == 2; });
  REQUIRE(answers.size() == 2);
  std::sort(answers.begin(), answers.end());
  CHECK(answers[0] == std::pair<std::string, bool>{"after", false});
  CHECK(answers[1] == std::pair<std::string, bool>{"before", true});
}
