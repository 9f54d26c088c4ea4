#include <catch2/catch.hpp>

#include "proxy/forward/redirect.h"

using regcache::proxy::redirectHop;
using regcache::proxy::net::Endpoint;

TEST_CASE("a redirect to a path stays on the endpoint, with the request's credentials",
          "[redirect]") {
  auto hop = redirectHop(Endpoint{"registry.test", 443, true}, "/v2/x/blobs/y?sig=1");
  REQUIRE(hop.ok());
  CHECK(hop->endpoint.host == "registry.test");
  CHECK(hop->endpoint.port == 443);
  CHECK(hop->endpoint.tls);
  CHECK(hop->originTarget == "/v2/x/blobs/y?sig=1");
  CHECK_FALSE(hop->dropAuthorization);
}

TEST_CASE("credentials never follow a redirect to another host or port, nor from TLS to plain",
          "[redirect]") {
  Endpoint registry{"registry.test", 443, true};
  auto cdn = redirectHop(registry, "https://cdn.test/blob?sig=1");
  REQUIRE(cdn.ok());
  CHECK(cdn->endpoint.host == "cdn.test");
  CHECK(cdn->endpoint.tls);
  CHECK(cdn->originTarget == "/blob?sig=1");
  CHECK(cdn->dropAuthorization);

  auto otherPort = redirectHop(registry, "https://registry.test:8443/blob");
  REQUIRE(otherPort.ok());
  CHECK(otherPort->dropAuthorization);

  auto cleartext = redirectHop(registry, "http://registry.test:443/blob");
  REQUIRE(cleartext.ok());
  CHECK_FALSE(cleartext->endpoint.tls);
  CHECK(cleartext->dropAuthorization);

  auto same = redirectHop(registry, "https://registry.test/v2/other");
  REQUIRE(same.ok());
  CHECK_FALSE(same->dropAuthorization);
}

TEST_CASE("a redirect anywhere but http(s) is refused", "[redirect]") {
  Endpoint registry{"registry.test", 443, true};
  CHECK_FALSE(redirectHop(registry, "ftp://cdn.test/blob").ok());
  CHECK_FALSE(redirectHop(registry, "cdn.test/blob").ok());
  CHECK_FALSE(redirectHop(registry, "").ok());
}
