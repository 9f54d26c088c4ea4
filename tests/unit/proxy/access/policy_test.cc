#include <catch2/catch.hpp>

#include "proxy/access/policy.h"

using regcache::proxy::hostMatches;
using regcache::proxy::InterceptPolicy;

TEST_CASE("host patterns match exact names, subdomains and everything", "[policy]") {
  CHECK(hostMatches("*", "anything.example"));
  CHECK(hostMatches("registry.test", "REGISTRY.test."));
  CHECK_FALSE(hostMatches("registry.test", "registry.test.evil"));
  CHECK(hostMatches("*.docker.io", "registry-1.docker.io"));
  CHECK_FALSE(hostMatches("*.docker.io", "docker.io"));
  CHECK_FALSE(hostMatches("*.docker.io", "evildocker.io"));
  CHECK(hostMatches(".docker.io", "docker.io"));
  CHECK(hostMatches(".docker.io", "auth.docker.io"));
  CHECK_FALSE(hostMatches(".docker.io", "notdocker.io"));
}

TEST_CASE("tunnel patterns win over intercept patterns", "[policy]") {
  InterceptPolicy policy({"*"}, {"bank.example", "*.internal"});
  CHECK(policy.shouldIntercept("registry.test"));
  CHECK_FALSE(policy.shouldIntercept("bank.example"));
  CHECK_FALSE(policy.shouldIntercept("git.internal"));
}

TEST_CASE("a host matching no intercept pattern is tunnelled", "[policy]") {
  InterceptPolicy policy({"*.docker.io", "ghcr.io"}, {});
  CHECK(policy.shouldIntercept("registry-1.docker.io"));
  CHECK(policy.shouldIntercept("ghcr.io"));
  CHECK_FALSE(policy.shouldIntercept("example.com"));
}
