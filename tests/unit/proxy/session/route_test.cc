#include <catch2/catch.hpp>

#include "proxy/session/route.h"

using namespace regcache::proxy;

namespace {
http::RequestHead head(const std::string &method, const std::string &target) {
  http::RequestHead h;
  h.method = method;
  h.target = target;
  return h;
}
} // namespace

TEST_CASE("CONNECT on the plain listener routes to its target", "[route]") {
  Route r = routeRequest(head("CONNECT", "registry-1.docker.io:443"), std::nullopt);
  CHECK(r.kind == RouteKind::kConnect);
  CHECK(r.upstream.host == "registry-1.docker.io");
  CHECK(r.upstream.port == 443);
}

TEST_CASE("a CONNECT with a bad target or inside a tunnel is a bad request", "[route]") {
  CHECK(routeRequest(head("CONNECT", "registry-1.docker.io"), std::nullopt).kind ==
        RouteKind::kBadRequest);
  CHECK(routeRequest(head("CONNECT", "/"), std::nullopt).kind == RouteKind::kBadRequest);
  http::HostPort target{"r.test", 443, false};
  CHECK(routeRequest(head("CONNECT", "other.test:443"), target).kind == RouteKind::kBadRequest);
}

TEST_CASE("requests inside an intercepted connection go to the CONNECT target over TLS",
          "[route]") {
  http::HostPort target{"registry.test", 5000, false};
  Route r = routeRequest(head("GET", "/v2/library/alpine/manifests/3.19"), target);
  CHECK(r.kind == RouteKind::kForward);
  CHECK(r.tls);
  CHECK(r.upstream.host == "registry.test");
  CHECK(r.upstream.port == 5000);
  CHECK(r.originTarget == "/v2/library/alpine/manifests/3.19");
  // An absolute URL inside the tunnel still goes to the CONNECT target, never elsewhere.
  Route abs = routeRequest(head("GET", "https://evil.test/v2/"), target);
  CHECK(abs.kind == RouteKind::kForward);
  CHECK(abs.upstream.host == "registry.test");
  CHECK(abs.originTarget == "/v2/");
}

TEST_CASE("absolute-form requests on the plain listener go to their URL's host", "[route]") {
  Route r = routeRequest(head("GET", "http://mirror.test:8080/v2/?x=1"), std::nullopt);
  CHECK(r.kind == RouteKind::kForward);
  CHECK_FALSE(r.tls);
  CHECK(r.upstream.host == "mirror.test");
  CHECK(r.upstream.port == 8080);
  CHECK(r.originTarget == "/v2/?x=1");
  CHECK(routeRequest(head("GET", "https://r.test/"), std::nullopt).tls);
}

TEST_CASE("origin-form on the plain listener is for the proxy itself", "[route]") {
  CHECK(routeRequest(head("GET", "/ca.crt"), std::nullopt).kind == RouteKind::kAdmin);
  CHECK(routeRequest(head("GET", "/healthz"), std::nullopt).kind == RouteKind::kAdmin);
}

TEST_CASE("other schemes and garbage targets are bad requests", "[route]") {
  CHECK(routeRequest(head("GET", "ftp://host/file"), std::nullopt).kind == RouteKind::kBadRequest);
  CHECK(routeRequest(head("GET", "*"), std::nullopt).kind == RouteKind::kBadRequest);
  CHECK(routeRequest(head("GET", "http://u:p@host/"), std::nullopt).kind == RouteKind::kBadRequest);
}

TEST_CASE("registry writes are POST, PUT, PATCH and DELETE under /v2/", "[route]") {
  http::HostPort target{"r.test", 443, false};
  for (const char *method : {"POST", "PUT", "PATCH", "DELETE"}) {
    INFO(method);
    auto request = head(method, "/v2/team/app/blobs/uploads/");
    CHECK(isRegistryWrite(request, routeRequest(request, target)));
  }
  for (const char *method : {"GET", "HEAD", "OPTIONS"}) {
    auto request = head(method, "/v2/team/app/manifests/v1");
    CHECK_FALSE(isRegistryWrite(request, routeRequest(request, target)));
  }
  auto other = head("POST", "/api/login");
  CHECK_FALSE(isRegistryWrite(other, routeRequest(other, target)));
  auto absolute = head("PUT", "http://r.test:5000/v2/a/manifests/v1");
  CHECK(isRegistryWrite(absolute, routeRequest(absolute, std::nullopt)));
  auto admin = head("DELETE", "/v2/_catalog");
  CHECK_FALSE(isRegistryWrite(admin, routeRequest(admin, std::nullopt)));
}

TEST_CASE("an absolute-form request whose Host names another host is a bad request", "[route]") {
  auto with = [](const std::string &target, std::initializer_list<std::string> hosts) {
    http::RequestHead h = head("GET", target);
    for (const auto &host : hosts)
      h.headers.add("Host", host);
    return routeRequest(h, std::nullopt).kind;
  };
  CHECK(with("http://a.test/v2/", {"a.test"}) == RouteKind::kForward);
  CHECK(with("http://a.test/v2/", {"A.TEST:80"}) == RouteKind::kForward);
  CHECK(with("https://a.test/v2/", {"a.test:443"}) == RouteKind::kForward);
  CHECK(with("http://a.test:5000/v2/", {"a.test"}) == RouteKind::kForward); // no port: agrees
  CHECK(with("http://a.test/v2/", {}) == RouteKind::kForward);
  CHECK(with("http://a.test/v2/", {"b.test"}) == RouteKind::kBadRequest);
  CHECK(with("http://a.test:5000/v2/", {"a.test:5001"}) == RouteKind::kBadRequest);
  CHECK(with("http://a.test/v2/", {"a.test", "b.test"}) == RouteKind::kBadRequest);
  CHECK(with("http://a.test/v2/", {"a.test/x"}) == RouteKind::kBadRequest);
}

TEST_CASE("inside an intercept the CONNECT target wins over Host, but two Hosts are refused",
          "[route]") {
  http::HostPort target{"registry.test", 443, false};
  http::RequestHead other = head("GET", "/v2/");
  other.headers.add("Host", "b.test");
  Route r = routeRequest(other, target);
  CHECK(r.kind == RouteKind::kForward);
  CHECK(r.upstream.host == "registry.test");
  other.headers.add("Host", "registry.test");
  CHECK(routeRequest(other, target).kind == RouteKind::kBadRequest);
}
