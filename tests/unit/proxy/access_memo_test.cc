#include <catch2/catch.hpp>

#include "proxy/access_memo.h"

using namespace regcache;
using namespace std::chrono_literals;

TEST_CASE("an accepted credential is remembered per repository until the TTL", "[access_memo]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  proxy::AccessMemo memo(clock, 60s);
  std::string alice = proxy::AccessMemo::credentialKey("Basic YWxpY2U6c2VjcmV0");
  std::string bob = proxy::AccessMemo::credentialKey("Basic Ym9iOndyb25n");
  CHECK(alice != bob);
  CHECK(alice.find("YWxp") == std::string::npos);
  memo.remember(alice, "r.io", "team/app");
  CHECK(memo.accepted(alice, "r.io", "team/app"));
  CHECK_FALSE(memo.accepted(bob, "r.io", "team/app"));
  CHECK_FALSE(memo.accepted(alice, "r.io", "team/other"));
  CHECK_FALSE(memo.accepted(alice, "other.io", "team/app"));
  clock.advance(59s);
  CHECK(memo.accepted(alice, "r.io", "team/app"));
  clock.advance(1s);
  CHECK_FALSE(memo.accepted(alice, "r.io", "team/app"));
}

TEST_CASE("the memo stays bounded", "[access_memo]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  proxy::AccessMemo memo(clock, 60s, 4);
  for (int i = 0; i < 10; ++i)
    memo.remember("k" + std::to_string(i), "r", "a");
  CHECK(memo.accepted("k9", "r", "a"));
  int kept = 0;
  for (int i = 0; i < 10; ++i)
    kept += memo.accepted("k" + std::to_string(i), "r", "a") ? 1 : 0;
  CHECK(kept <= 4);
}
