#include <catch2/catch.hpp>

#include "app/doctor.h"

using regcache::app::noProxyExcludes;

TEST_CASE("NO_PROXY matching follows Go and curl: exact, domain suffix, dot, star", "[app]") {
  CHECK(noProxyExcludes("localhost,docker.io", "docker.io"));
  CHECK(noProxyExcludes(".docker.io", "registry-1.docker.io"));
  CHECK(noProxyExcludes("docker.io", "registry-1.docker.io"));
  CHECK(noProxyExcludes(" *", "ghcr.io"));
  CHECK(noProxyExcludes("GHCR.IO:443", "ghcr.io"));
  CHECK_FALSE(noProxyExcludes("localhost,127.0.0.1,::1", "docker.io"));
  CHECK_FALSE(noProxyExcludes("ker.io", "docker.io")); // not a domain boundary
  CHECK_FALSE(noProxyExcludes("", "docker.io"));
}
