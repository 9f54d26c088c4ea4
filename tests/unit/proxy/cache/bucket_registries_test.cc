// --store-registries: which registries' pulls the fleet's bucket may serve.
#include <catch2/catch.hpp>

#include "proxy/cache/bucket_lookup.h"

using regcache::proxy::bucketServesRegistry;
using regcache::proxy::http::HostPort;

TEST_CASE("store registries: an empty list serves none, \"*\" every registry",
          "[bucket][store-registries]") {
  CHECK_FALSE(bucketServesRegistry({}, HostPort{"ghcr.io", 443, false}));
  CHECK(bucketServesRegistry({"*"}, HostPort{"anything.example", 5000, false}));
}

TEST_CASE("store registries: names, ports, patterns and Docker Hub", "[bucket][store-registries]") {
  std::vector<std::string> allowed{"docker.io", "Registry.Example.com:5000", "*.corp.example",
                                   "[::1]:5443"};
  CHECK(bucketServesRegistry(allowed, HostPort{"registry-1.docker.io", 443, false}));
  CHECK(bucketServesRegistry(allowed, HostPort{"registry.example.com", 5000, false}));
  CHECK_FALSE(bucketServesRegistry(allowed, HostPort{"registry.example.com", 443, false}));
  CHECK(bucketServesRegistry(allowed, HostPort{"a.corp.example", 443, false}));
  CHECK_FALSE(bucketServesRegistry(allowed, HostPort{"corp.example", 443, false}));
  CHECK_FALSE(bucketServesRegistry(allowed, HostPort{"evilcorp.example", 443, false}));
  CHECK_FALSE(bucketServesRegistry(allowed, HostPort{"a.corp.example", 8443, false}));
  CHECK(bucketServesRegistry(allowed, HostPort{"::1", 5443, true}));
  CHECK_FALSE(bucketServesRegistry(allowed, HostPort{"evil.example", 443, false}));
  CHECK_FALSE(
      bucketServesRegistry({"host:notaport", "a:b:c", "[::1"}, HostPort{"host", 443, false}));
}
