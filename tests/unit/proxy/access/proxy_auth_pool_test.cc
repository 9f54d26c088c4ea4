#include <catch2/catch.hpp>

#include <event2/thread.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "base/base64.h"
#include "base/event_handles.h"
#include "proxy/access/proxy_auth_pool.h"

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

// A password line as `regcache proxy-auth hash` writes it, but with 1 000 PBKDF2 iterations (the
// count is part of the verifier) instead of 600 000: what is tested is the pool, not the hash's
// cost. At the full count, under qemu-user or on a loaded machine, the checks these tests queue
// one after the other outlast the loop's deadline (GateClock, not the hash's cost, keeps a check in
// flight where a test needs one).
std::string quickUsers(const std::string &user, const std::string &password) {
  const std::string salt = "0123456789abcdef";
  std::array<unsigned char, 32> key{};
  REQUIRE(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                            reinterpret_cast<const unsigned char *>(salt.data()),
                            static_cast<int>(salt.size()), 1000, EVP_sha256(),
                            static_cast<int>(key.size()), key.data()) == 1);
  return user + ":pbkdf2-sha256$1000$" + encodeBase64(salt) + "$" +
         encodeBase64({reinterpret_cast<const char *>(key.data()), key.size()}) + "\n";
}

std::shared_ptr<const PasswordCheck> needsHash(const ProxyUsers &users, const std::string &pair) {
  auto check = users.checkFast("Basic " + encodeBase64(pair), SystemClock::instance());
  REQUIRE(check.outcome == ProxyUsers::FastCheck::Outcome::kNeedsHash);
  return check.password;
}

// The pool's clock, read by each check once its hash is done: while closed it holds the pool's
// thread there, so the checks submitted meanwhile find the first one still in flight whatever the
// machine's speed (no race against the hash's duration).
class GateClock final : public Clock {
public:
  TimePoint now() const override {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [this] { return open_; });
    return std::chrono::system_clock::now();
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }

private:
  mutable std::mutex mutex_;
  mutable std::condition_variable opened_;
  bool open_ = false;
};

// Opens the gate when it goes out of scope, so a failed REQUIRE never leaves the pool's
// destructor waiting for a held thread.
struct OpenOnExit {
  GateClock &gate;
  ~OpenOnExit() { gate.open(); }
};

} // namespace

TEST_CASE("the auth pool checks one header once, bounds each client, and answers on the loop",
          "[proxy_auth_pool]") {
  auto parsed = ProxyUsers::parse(quickUsers("alice", "right"));
  REQUIRE(parsed.ok());
  auto users = std::make_shared<const ProxyUsers>(std::move(parsed.value()));
  Loop loop;
  GateClock gate;
  ProxyAuthPool pool(gate, {1, 1, 64});
  OpenOnExit openOnExit{gate};
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
  gate.open();
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
  auto parsed = ProxyUsers::parse(quickUsers("alice", "right"));
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
    auto parsed = ProxyUsers::parse(quickUsers("alice", password));
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
