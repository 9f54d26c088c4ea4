#include <catch2/catch.hpp>

#include "proxy/session/mirror_route.h"
#include "proxy/session/route.h"

using namespace regcache::proxy;

namespace {
http::RequestHead head(const std::string &method, const std::string &target) {
  http::RequestHead h;
  h.method = method;
  h.target = target;
  return h;
}
const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
} // namespace

TEST_CASE("origin-form /v2 requests on the plain listener go to the mirror, the catalog does not",
          "[mirror]") {
  CHECK(routeRequest(head("GET", "/v2/"), std::nullopt).kind == RouteKind::kMirror);
  CHECK(routeRequest(head("GET", "/v2"), std::nullopt).kind == RouteKind::kMirror);
  CHECK(routeRequest(head("HEAD", "/v2/library/alpine/manifests/3?ns=docker.io"), std::nullopt)
            .kind == RouteKind::kMirror);
  CHECK(routeRequest(head("GET", "/v2/_catalog"), std::nullopt).kind == RouteKind::kAdmin);
  CHECK(routeRequest(head("GET", "/v2/_catalog?n=10"), std::nullopt).kind == RouteKind::kAdmin);
  CHECK(routeRequest(head("GET", "/v2x"), std::nullopt).kind == RouteKind::kAdmin);
  CHECK(routeRequest(head("GET", "/metrics"), std::nullopt).kind == RouteKind::kAdmin);
  // Inside an intercepted connection, /v2/ still goes to the CONNECT target.
  http::HostPort target{"registry.test", 443, false};
  CHECK(routeRequest(head("GET", "/v2/"), target).kind == RouteKind::kForward);
}

TEST_CASE("the mirror's upstream comes from ns, and is Docker Hub without it", "[mirror]") {
  auto hub = routeMirror(head("GET", "/v2/library/alpine/manifests/3.19"), {});
  REQUIRE(hub.kind == MirrorRoute::Kind::kForward);
  CHECK(hub.upstream.host == "registry-1.docker.io");
  CHECK(hub.upstream.port == 443);
  CHECK(hub.originTarget == "/v2/library/alpine/manifests/3.19");

  auto dockerIo = routeMirror(head("HEAD", "/v2/library/alpine/manifests/3.19?ns=docker.io"), {});
  REQUIRE(dockerIo.kind == MirrorRoute::Kind::kForward);
  CHECK(dockerIo.upstream.host == "registry-1.docker.io");
  CHECK(dockerIo.originTarget == "/v2/library/alpine/manifests/3.19");

  // containerd encodes the port's colon (Go's url.Values); other parameters stay.
  auto ported =
      routeMirror(head("GET", "/v2/team/app/blobs/" + kDigest + "?x=1&ns=Reg.Test%3A5000"), {});
  REQUIRE(ported.kind == MirrorRoute::Kind::kForward);
  CHECK(ported.upstream.host == "reg.test");
  CHECK(ported.upstream.port == 5000);
  CHECK(ported.originTarget == "/v2/team/app/blobs/" + kDigest + "?x=1");

  auto ghcr = routeMirror(head("GET", "/v2/org/tool/manifests/" + kDigest + "?ns=ghcr.io"), {});
  REQUIRE(ghcr.kind == MirrorRoute::Kind::kForward);
  CHECK(ghcr.upstream.host == "ghcr.io");
  CHECK(ghcr.upstream.port == 443);
}

TEST_CASE("the mirror answers the ping itself and refuses what is no pull", "[mirror]") {
  CHECK(routeMirror(head("GET", "/v2/"), {}).kind == MirrorRoute::Kind::kPing);
  CHECK(routeMirror(head("HEAD", "/v2/?ns=ghcr.io"), {}).kind == MirrorRoute::Kind::kPing);
  auto push = routeMirror(head("POST", "/v2/team/app/blobs/uploads/"), {});
  CHECK(push.kind == MirrorRoute::Kind::kRefuse);
  CHECK(push.status == 405);
  CHECK(push.code == "UNSUPPORTED");
  auto tags = routeMirror(head("GET", "/v2/team/app/tags/list"), {});
  CHECK(tags.kind == MirrorRoute::Kind::kRefuse);
  CHECK(tags.status == 404);
  for (const char *ns : {"ns=", "ns=a%2Fb", "ns=u%40host", "ns=%zz", "ns=host%3A99999",
                         "ns=host%2Fpath", "ns=%20"}) {
    INFO(ns);
    auto bad = routeMirror(head("GET", std::string("/v2/a/manifests/v1?") + ns), {});
    CHECK(bad.kind == MirrorRoute::Kind::kRefuse);
    CHECK(bad.status == 400);
  }
}

TEST_CASE("the mirror reaches only the registries --mirror-registries names", "[mirror]") {
  std::vector<std::string> allowed{"docker.io", "reg.test:5000", "*.corp.example"};
  CHECK(routeMirror(head("GET", "/v2/library/a/manifests/1"), allowed).kind ==
        MirrorRoute::Kind::kForward);
  CHECK(routeMirror(head("GET", "/v2/a/manifests/1?ns=reg.test%3A5000"), allowed).kind ==
        MirrorRoute::Kind::kForward);
  CHECK(routeMirror(head("GET", "/v2/a/manifests/1?ns=r.corp.example"), allowed).kind ==
        MirrorRoute::Kind::kForward);
  for (const char *ns :
       {"ghcr.io", "reg.test", "reg.test%3A5001", "corp.example", "r.corp.example%3A8443"}) {
    INFO(ns);
    auto refused = routeMirror(head("GET", std::string("/v2/a/manifests/1?ns=") + ns), allowed);
    CHECK(refused.kind == MirrorRoute::Kind::kRefuse);
    CHECK(refused.status == 403);
    CHECK(refused.code == "DENIED");
  }
  CHECK(mirrorAllows({}, http::HostPort{"anything.test", 443, false}));
  CHECK(mirrorAllows({"*.corp.example:8443"}, http::HostPort{"r.corp.example", 8443, false}));
}

TEST_CASE("registry names normalize Docker Hub, case, ports and a trailing dot", "[mirror]") {
  CHECK(parseMirrorRegistry("docker.io")->host == "registry-1.docker.io");
  CHECK(parseMirrorRegistry("index.docker.io")->host == "registry-1.docker.io");
  CHECK(parseMirrorRegistry("docker.io:5000")->host == "docker.io");
  CHECK(parseMirrorRegistry("GHCR.io.")->host == "ghcr.io");
  CHECK(parseMirrorRegistry("[::1]:5000")->port == 5000);
  CHECK_FALSE(parseMirrorRegistry("").ok());
  CHECK_FALSE(parseMirrorRegistry("a/b").ok());
  CHECK(percentDecode("a%3Ab+c") == "a:b c");
  CHECK_FALSE(percentDecode("%4").has_value());
}

TEST_CASE("without ns, a first path component with a dot names the registry (registries.conf)",
          "[mirror]") {
  auto prefixed = routeMirror(head("GET", "/v2/ghcr.io/org/tool/manifests/v1"), {});
  REQUIRE(prefixed.kind == MirrorRoute::Kind::kForward);
  CHECK(prefixed.upstream.host == "ghcr.io");
  CHECK(prefixed.upstream.port == 443);
  CHECK(prefixed.originTarget == "/v2/org/tool/manifests/v1");
  auto hub = routeMirror(head("GET", "/v2/docker.io/library/alpine/blobs/" + kDigest), {});
  REQUIRE(hub.kind == MirrorRoute::Kind::kForward);
  CHECK(hub.upstream.host == "registry-1.docker.io");
  CHECK(hub.originTarget == "/v2/library/alpine/blobs/" + kDigest);
  // Docker Hub's own names have no dot in their first component; with ns the path is the
  // repository as it stands.
  auto plain = routeMirror(head("GET", "/v2/library/my.app/manifests/v1"), {});
  CHECK(plain.upstream.host == "registry-1.docker.io");
  CHECK(plain.originTarget == "/v2/library/my.app/manifests/v1");
  auto withNs = routeMirror(head("GET", "/v2/my.org/app/manifests/v1?ns=reg.test"), {});
  CHECK(withNs.upstream.host == "reg.test");
  CHECK(withNs.originTarget == "/v2/my.org/app/manifests/v1");
  // A single component is a repository, not a registry.
  CHECK(routeMirror(head("GET", "/v2/my.app/manifests/v1"), {}).upstream.host ==
        "registry-1.docker.io");
  CHECK(routeMirror(head("GET", "/v2/ghcr.io/a/manifests/v1"), {"docker.io"}).status == 403);
}
