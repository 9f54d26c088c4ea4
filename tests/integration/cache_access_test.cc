// Who gets cached content: what upstream served only with credentials goes only to clients
// upstream accepts for that repository; what it served without goes to anyone asking there.
#include <catch2/catch.hpp>

#include "cache/digest.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

const std::string kLayer = std::string(200000, 'l') + "end";
const std::string kLayerDigest = "sha256:" + regcache::cache::sha256Hex(kLayer);
const std::string kOther = "another blob of the public repository";
const std::string kOtherDigest = "sha256:" + regcache::cache::sha256Hex(kOther);
const std::string kGood = "Authorization: Basic Z29vZDp0b2tlbg==\r\n";
const std::string kOtherGood = "Authorization: Basic b3RoZXI6dG9rZW4=\r\n";
const std::string kWrong = "Authorization: Basic YmFkOmd1ZXNz\r\n";

std::string layerGet(uint16_t port, const std::string &repository, const std::string &extra = "") {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/" + repository + "/blobs/" +
         kLayerDigest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

// A registry where private/app needs one of two accounts and library/base is public; both hold
// the same layer.
ScriptedUpstream registry() {
  return ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    bool isPrivate = request.requestLine().find("/v2/private/app/") != std::string::npos;
    bool allowed = !isPrivate || request.hasHeaderLine(kGood.substr(0, kGood.size() - 2)) ||
                   request.hasHeaderLine(kOtherGood.substr(0, kOtherGood.size() - 2));
    if (!allowed) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\n"
                 "Content-Length: 12\r\n\r\nunauthorized");
      return;
    }
    bool other = request.requestLine().find(kOtherDigest) != std::string::npos;
    std::string response =
        okResponse(other ? kOther : kLayer,
                   "Content-Type: application/octet-stream\r\nDocker-Content-Digest: " +
                       (other ? kOtherDigest : kLayerDigest) + "\r\n");
    if (request.requestLine().rfind("HEAD ", 0) == 0) {
      response.resize(response.find("\r\n\r\n") + 4);
    }
    reply.send(response);
  });
}

// The proxy's own questions to upstream (PublicProbe) run in the background after a fetch with
// credentials; the tests that are not about them leave them out.
bool isProbe(const RecordedRequest &request) {
  return request.hasHeaderLine("User-Agent: regcache (public probe)");
}

std::vector<std::string> requestLines(const ScriptedUpstream &upstream) {
  std::vector<std::string> lines;
  for (const auto &r : upstream.requests())
    if (!isProbe(r))
      lines.push_back(
          r.requestLine().substr(0, r.requestLine().find(' ')) +
          (r.requestLine().find("/private/") != std::string::npos ? " private" : " public"));
  return lines;
}

} // namespace

TEST_CASE("content fetched with credentials reaches only clients upstream accepts",
          "[cache][access]") {
  auto upstream = registry();
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(layerGet(upstream.port(), "private/app", kGood));
  std::string first = client.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(first) == kLayer);

  // The same credential again: upstream said yes a moment ago, so no upstream request at all.
  client.sendAll(layerGet(upstream.port(), "private/app", kGood));
  std::string again = client.readResponse();
  CHECK(again.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(again) == kLayer);
  CHECK(requestLines(upstream).size() == 1);

  // No credentials, or wrong ones: upstream's refusal, never the cached bytes.
  for (const std::string &who : {std::string(), kWrong}) {
    auto other = RawSocket::connectTo(proxy.port());
    other.sendAll(layerGet(upstream.port(), "private/app", who));
    std::string refused = other.readResponse();
    INFO(who);
    CHECK(refused.rfind("HTTP/1.1 401", 0) == 0);
    CHECK(refused.find(kLayer.substr(0, 100)) == std::string::npos);
  }

  // Another account upstream accepts: one HEAD, then the cached copy.
  client.sendAll(layerGet(upstream.port(), "private/app", kOtherGood));
  std::string confirmed = client.readResponse();
  CHECK(confirmed.find("X-Cache: REVALIDATED") != std::string::npos);
  CHECK(body(confirmed) == kLayer);
  CHECK(requestLines(upstream) == std::vector<std::string>{"GET private", "HEAD private",
                                                           "GET private", "HEAD private",
                                                           "GET private", "HEAD private"});
}

TEST_CASE("a layer a public repository shares with a private one is served through the public "
          "one",
          "[cache][access]") {
  auto upstream = registry();
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(layerGet(upstream.port(), "private/app", kGood));
  REQUIRE(body(client.readResponse()) == kLayer);

  auto anonymous = RawSocket::connectTo(proxy.port());
  anonymous.sendAll(layerGet(upstream.port(), "library/base"));
  std::string confirmed = anonymous.readResponse();
  CHECK(confirmed.find("X-Cache: REVALIDATED") != std::string::npos);
  CHECK(body(confirmed) == kLayer);
  // Upstream served it there without credentials: from now on no question is asked.
  anonymous.sendAll(layerGet(upstream.port(), "library/base"));
  std::string hit = anonymous.readResponse();
  CHECK(hit.find("X-Cache: HIT") != std::string::npos);
  CHECK(requestLines(upstream) == std::vector<std::string>{"GET private", "HEAD public"});
  // Still not through the private repository.
  anonymous.sendAll(layerGet(upstream.port(), "private/app"));
  CHECK(anonymous.readResponse().rfind("HTTP/1.1 401", 0) == 0);
}

TEST_CASE("with upstream unreachable, private content follows --offline-auth", "[cache][access]") {
  for (bool trust : {false, true}) {
    INFO("trust-cached: " << trust);
    uint16_t port = 0;
    std::unique_ptr<ProxyFixture> proxy;
    {
      auto upstream = registry();
      port = upstream.port();
      proxy = std::make_unique<ProxyFixture>([trust](auto &o) {
        o.offlineAuth = trust ? regcache::proxy::OfflineAuth::kTrustCached
                              : regcache::proxy::OfflineAuth::kDeny;
      });
      auto client = RawSocket::connectTo(proxy->port());
      client.sendAll(layerGet(port, "private/app", kGood));
      REQUIRE(body(client.readResponse()) == kLayer);
    } // the upstream is gone
    auto client = RawSocket::connectTo(proxy->port());
    client.sendAll(layerGet(port, "private/app", kOtherGood));
    std::string response = client.readResponse();
    if (trust) {
      CHECK(response.find("X-Cache: STALE") != std::string::npos);
      CHECK(body(response) == kLayer);
    } else {
      CHECK(response.rfind("HTTP/1.1 502", 0) == 0);
    }
  }
}

TEST_CASE("upstream's yes for a repository covers only what was served under it",
          "[cache][access]") {
  auto upstream = registry();
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(layerGet(upstream.port(), "private/app", kGood));
  REQUIRE(body(client.readResponse()) == kLayer);
  // The credential is now known good for library/base too (a fill there)...
  client.sendAll("GET http://127.0.0.1:" + std::to_string(upstream.port()) +
                 "/v2/library/base/blobs/" + kOtherDigest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                 kGood + "\r\n");
  REQUIRE(body(client.readResponse()) == kOther);
  // ...which says nothing about private/app's layer under library/base: upstream is asked.
  client.sendAll(layerGet(upstream.port(), "library/base", kGood));
  std::string asked = client.readResponse();
  CHECK(asked.find("X-Cache: REVALIDATED") != std::string::npos);
  CHECK(requestLines(upstream) ==
        std::vector<std::string>{"GET private", "GET public", "HEAD public"});
}
