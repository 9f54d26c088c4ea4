#include <catch2/catch.hpp>

#include "proxy/access/access_memo.h"

using namespace regcache;
using namespace std::chrono_literals;

TEST_CASE("an accepted credential is remembered per repository until the TTL", "[access_memo]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  proxy::AccessMemo memo(clock, 60s);
  auto aliceCredential = proxy::Credential::of("Basic YWxpY2U6c2VjcmV0");
  std::string alice = aliceCredential.key;
  std::string bob = proxy::Credential::of("Basic Ym9iOndyb25n").key;
  CHECK(alice != bob);
  CHECK(alice.find("YWxp") == std::string::npos);
  CHECK_FALSE(aliceCredential.expires);
  memo.remember(aliceCredential, "r.io", "team/app");
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
    memo.remember(proxy::Credential{"k" + std::to_string(i), std::nullopt}, "r", "a");
  CHECK(memo.accepted("k9", "r", "a"));
  int kept = 0;
  for (int i = 0; i < 10; ++i)
    kept += memo.accepted("k" + std::to_string(i), "r", "a") ? 1 : 0;
  CHECK(kept <= 4);
}

TEST_CASE("a bearer token is trusted no longer than it lives", "[access_memo]") {
  ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  proxy::AccessMemo memo(clock, 60s);
  // Claims {"exp":1700000020}: the token dies 20 s from now, before the memo's 60 s.
  auto shortLived = proxy::Credential::of("Bearer eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMjB9.");
  REQUIRE(shortLived.expires);
  memo.remember(shortLived, "r.io", "team/app");
  clock.advance(19s);
  CHECK(memo.accepted(shortLived.key, "r.io", "team/app"));
  clock.advance(1s);
  CHECK_FALSE(memo.accepted(shortLived.key, "r.io", "team/app"));

  // A token that lives longer than the TTL is still asked about again after the TTL.
  proxy::Credential longLived{"long", clock.now() + 3600s};
  memo.remember(longLived, "r.io", "team/app");
  clock.advance(60s);
  CHECK_FALSE(memo.accepted("long", "r.io", "team/app"));

  // An expired token is not remembered at all.
  proxy::Credential expired{"expired", clock.now() - 1s};
  memo.remember(expired, "r.io", "team/app");
  CHECK_FALSE(memo.accepted("expired", "r.io", "team/app"));
}
