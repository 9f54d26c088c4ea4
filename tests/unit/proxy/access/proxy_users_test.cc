#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include <sys/stat.h>

#include "proxy/access/proxy_users.h"

using namespace regcache;
using namespace regcache::proxy;
using namespace std::chrono_literals;

namespace {
const std::string kToken = "tok-0123456789abcdefghij";
std::string basic(const std::string &userAndSecret) {
  // Small enough to spell out: the encoder under test is OpenSSL's, used by the proxy.
  static const char *table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < userAndSecret.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(userAndSecret[i]) << 16) |
                 (static_cast<unsigned char>(userAndSecret[i + 1]) << 8) |
                 static_cast<unsigned char>(userAndSecret[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out += table[(v >> s) & 63];
  }
  std::size_t rest = userAndSecret.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(userAndSecret[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(userAndSecret[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += rest == 2 ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return "Basic " + out;
}
} // namespace

TEST_CASE("users with passwords and tokens authenticate; nobody else does", "[proxy_users]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  std::string file = "# proxy users\nalice:" + hashProxySecret("s3cret", false) +
                     "\n\nrunners:" + hashProxySecret(kToken, true) + "\n";
  auto users = ProxyUsers::parse(file);
  REQUIRE(users.ok());
  CHECK(users->size() == 2);
  CHECK(users->authenticate(basic("alice:s3cret"), clock) == "alice");
  CHECK(users->authenticate(basic("runners:" + kToken), clock) == "runners");
  CHECK(users->authenticate("basic " + basic("runners:" + kToken).substr(6), clock) == "runners");
  CHECK_FALSE(users->authenticate(basic("alice:wrong"), clock));
  CHECK_FALSE(users->authenticate(basic("runners:" + kToken + "x"), clock));
  CHECK_FALSE(users->authenticate(basic("mallory:s3cret"), clock));
  CHECK_FALSE(users->authenticate(basic("alice"), clock));
  CHECK_FALSE(users->authenticate("Bearer abc", clock));
  CHECK_FALSE(users->authenticate("Basic !!!!", clock));
  CHECK_FALSE(users->authenticate("", clock));
}

TEST_CASE("two hashes of one password differ (salted) and both verify", "[proxy_users]") {
  std::string first = hashProxySecret("pw", false);
  std::string second = hashProxySecret("pw", false);
  CHECK(first != second);
  CHECK(first.rfind("pbkdf2-sha256$600000$", 0) == 0);
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  auto users = ProxyUsers::parse("a:" + first + "\nb:" + second + "\n");
  REQUIRE(users.ok());
  CHECK(users->authenticate(basic("a:pw"), clock) == "a");
  CHECK(users->authenticate(basic("b:pw"), clock) == "b");
}

TEST_CASE("malformed proxy user files are refused with the line", "[proxy_users]") {
  for (const char *text : {"alice\n", ":token-sha256$00\n", "alice:s3cret\n",
                           "alice:token-sha256$abc\n", "alice:pbkdf2-sha256$1$x\n"}) {
    INFO(text);
    auto users = ProxyUsers::parse(text);
    REQUIRE_FALSE(users.ok());
    CHECK(users.failure().detail.find("line 1") != std::string::npos);
  }
  std::string twice = "a:" + hashProxySecret(kToken, true) + "\na:" + hashProxySecret(kToken, true);
  CHECK_FALSE(ProxyUsers::parse(twice).ok());
}

TEST_CASE("a proxy user file others can read is refused", "[proxy_users]") {
  std::random_device random;
  auto path =
      std::filesystem::temp_directory_path() / ("regcache-users-" + std::to_string(random()));
  std::ofstream(path) << "runners:" << hashProxySecret(kToken, true) << "\n";
  ::chmod(path.c_str(), 0640);
  CHECK_FALSE(ProxyUsers::load(path).ok());
  ::chmod(path.c_str(), 0600);
  CHECK(ProxyUsers::load(path).ok());
  std::filesystem::remove(path);
}

TEST_CASE("a third field marks admins; old lines are ordinary users; unknown flags are refused",
          "[proxy_users]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  std::string adminLine = hashProxySecret(kToken, true, true);
  CHECK(adminLine.size() > 6);
  CHECK(adminLine.substr(adminLine.size() - 6) == ":admin");
  auto users = ProxyUsers::parse("ops:" + adminLine +
                                 "\nrunners:" + hashProxySecret(kToken + "2", true) + "\n");
  REQUIRE(users.ok());
  CHECK(users->isAdmin("ops"));
  CHECK_FALSE(users->isAdmin("runners"));
  CHECK_FALSE(users->isAdmin("nobody"));
  CHECK(users->authenticate(basic("ops:" + kToken), clock) == "ops");
  for (std::string bad : {"ops:" + hashProxySecret(kToken, true) + ":root\n",
                          "ops:" + hashProxySecret(kToken, true) + ":\n",
                          "ops:" + hashProxySecret(kToken, true) + ":admin,\n"}) {
    INFO(bad);
    CHECK_FALSE(ProxyUsers::parse(bad).ok());
  }
}

TEST_CASE("tokens are decided at once; passwords need the slow half, whose outcome is remembered",
          "[proxy_users]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  auto users = ProxyUsers::parse("alice:" + hashProxySecret("s3cret", false) +
                                 "\nrunners:" + hashProxySecret(kToken, true) + "\n");
  REQUIRE(users.ok());
  using Outcome = ProxyUsers::FastCheck::Outcome;
  CHECK(users->checkFast(basic("runners:" + kToken), clock).outcome == Outcome::kProven);
  CHECK(users->checkFast(basic("runners:nope"), clock).outcome == Outcome::kRefused);
  CHECK(users->checkFast(basic("mallory:x"), clock).outcome == Outcome::kRefused);

  auto wrong = users->checkFast(basic("alice:wrong"), clock);
  REQUIRE(wrong.outcome == Outcome::kNeedsHash);
  CHECK(wrong.user == "alice");
  CHECK_FALSE(users->checkSlow(*wrong.password, clock));
  // The same wrong header is refused without hashing for a while, then hashed again.
  CHECK(users->checkFast(basic("alice:wrong"), clock).outcome == Outcome::kRefused);
  clock.advance(31s);
  CHECK(users->checkFast(basic("alice:wrong"), clock).outcome == Outcome::kNeedsHash);

  auto right = users->checkFast(basic("alice:s3cret"), clock);
  REQUIRE(right.outcome == Outcome::kNeedsHash);
  CHECK(users->checkSlow(*right.password, clock));
  auto again = users->checkFast(basic("alice:s3cret"), clock);
  CHECK(again.outcome == Outcome::kProven);
  CHECK(again.user == "alice");
}
