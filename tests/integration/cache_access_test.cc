// Who gets cached content: what upstream served only with credentials goes only to clients
// upstream accepts for that repository; what it served without goes to anyone asking there.
#include <catch2/catch.hpp>

#include <thread>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "cache/index.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;

namespace {

const std::string kLayer = std::string(200000, 'l') + "end";
const std::string kLayerDigest = "sha256:" + regcache::sha256Hex(kLayer);
const std::string kOther = "another blob of the public repository";
const std::string kOtherDigest = "sha256:" + regcache::sha256Hex(kOther);
const std::string kGood = "Authorization: Basic Z29vZDp0b2tlbg==\r\n";
const std::string kOtherGood = "Authorization: Basic b3RoZXI6dG9rZW4=\r\n";
const std::string kWrong = "Authorization: Basic YmFkOmd1ZXNz\r\n";
const std::string kManifestType = "application/vnd.oci.image.manifest.v1+json";
const std::string kManifest = R"({"schemaVersion":2,"mediaType":")" + kManifestType +
                              R"(","annotations":{"secret":"private"}})";
const std::string kManifestDigest = "sha256:" + regcache::sha256Hex(kManifest);

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
    bool manifest = request.requestLine().find("/manifests/") != std::string::npos;
    std::string response =
        manifest
            ? okResponse(kManifest, "Content-Type: " + kManifestType +
                                        "\r\nDocker-Content-Digest: " + kManifestDigest + "\r\n")
            : okResponse(other ? kOther : kLayer,
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

namespace {

// Private content of the registry above, by kind: what a client asks for, and what it must only
// get from a registry that holds it.
struct PrivateContent {
  std::string kind; // "blobs" or "manifests"
  std::string bytes;
  std::string digest;
};
const std::vector<PrivateContent> kPrivateContent = {{"blobs", kLayer, kLayerDigest},
                                                     {"manifests", kManifest, kManifestDigest}};

std::string contentRequest(const std::string &method, uint16_t port, const std::string &repository,
                           const PrivateContent &content, const std::string &extra = "") {
  return method + " http://127.0.0.1:" + std::to_string(port) + "/v2/" + repository + "/" +
         content.kind + "/" + content.digest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

bool headOnly(const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; }

bool sourceRecorded(const ProxyFixture &proxy, const std::string &digest,
                    const std::string &registry, const std::string &repository, bool anonymously) {
  proxy.flushIndex();
  auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
  if (!index.ok()) return false;
  auto served = index.value()->servedUnder(digest, registry, repository, anonymously);
  return served.ok() && served.value();
}

// The attacker's registry: every HEAD gets a 200 naming the digest asked for, every GET either
// a 404 or the right number of wrong bytes.
ScriptedUpstream yesSayer(bool wrongBytes, std::size_t size) {
  return ScriptedUpstream([wrongBytes, size](const RecordedRequest &request, UpstreamReply &reply) {
    std::string line = request.requestLine();
    std::string target = line.substr(0, line.rfind(' '));
    std::string digest = target.substr(target.rfind('/') + 1);
    if (line.rfind("HEAD ", 0) == 0) {
      reply.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) +
                 "\r\nDocker-Content-Digest: " + digest + "\r\nContent-Type: " + kManifestType +
                 "\r\n\r\n");
    } else if (wrongBytes) {
      reply.send(okResponse(std::string(size, 'w'), "Docker-Content-Digest: " + digest + "\r\n"));
    } else {
      reply.send("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
    }
  });
}

} // namespace

TEST_CASE("a registry that says yes to every HEAD gets no private content it never served",
          "[cache][access][isolation]") {
  for (const auto &content : kPrivateContent) {
    for (bool wrongBytes : {false, true}) {
      INFO(content.kind << (wrongBytes ? ", wrong bytes" : ", 404"));
      auto upstream = registry();
      auto attacker = yesSayer(wrongBytes, content.bytes.size());
      ProxyFixture proxy;
      auto owner = RawSocket::connectTo(proxy.port());
      owner.sendAll(contentRequest("GET", upstream.port(), "private/app", content, kGood));
      REQUIRE(body(owner.readResponse()) == content.bytes);

      for (int attempt = 0; attempt < 2; ++attempt) { // the second would be a HIT if recorded
        auto anonymous = RawSocket::connectTo(proxy.port());
        anonymous.sendAll(contentRequest("GET", attacker.port(), "x", content));
        std::string response = anonymous.readResponse(3000ms);
        CHECK(response.find(content.bytes.substr(0, 60)) == std::string::npos);
        CHECK(response.find("X-Cache: REVALIDATED") == std::string::npos);
        CHECK(response.find("X-Cache: HIT") == std::string::npos);
      }
      auto anonymousHead = RawSocket::connectTo(proxy.port());
      anonymousHead.sendAll(contentRequest("HEAD", attacker.port(), "x", content));
      CHECK(anonymousHead.readUntil(headOnly).find("X-Cache: REVALIDATED") == std::string::npos);
      // A miss there: the attacker was asked for the bytes, and is no source of them.
      int gets = 0;
      for (const auto &r : attacker.requests())
        if (r.requestLine().rfind("GET ", 0) == 0) ++gets;
      CHECK(gets == 2);
      const std::string attackerRegistry = "http://127.0.0.1:" + std::to_string(attacker.port());
      CHECK_FALSE(sourceRecorded(proxy, content.digest, attackerRegistry, "x", false));
    }
  }
}

TEST_CASE("offline, trust-cached serves only clients with credentials, where it was served",
          "[cache][access][isolation]") {
  uint16_t port = 0;
  uint16_t otherPort = 0;
  {
    auto unused = registry();
    otherPort = unused.port(); // closed from here on: another registry, unreachable
  }
  std::unique_ptr<ProxyFixture> proxy;
  {
    auto upstream = registry();
    port = upstream.port();
    proxy = std::make_unique<ProxyFixture>(
        [](auto &o) { o.offlineAuth = regcache::proxy::OfflineAuth::kTrustCached; });
    auto client = RawSocket::connectTo(proxy->port());
    client.sendAll(layerGet(port, "private/app", kGood));
    REQUIRE(body(client.readResponse()) == kLayer);
  } // the upstream is gone
  struct Ask {
    uint16_t port;
    std::string repository;
    std::string credential;
    bool served;
  };
  for (const Ask &ask :
       {Ask{port, "private/app", "", false}, Ask{port, "library/base", kOtherGood, false},
        Ask{otherPort, "private/app", kOtherGood, false},
        Ask{port, "private/app", kOtherGood, true}}) {
    INFO(ask.port << "/" << ask.repository << " with " << ask.credential);
    auto client = RawSocket::connectTo(proxy->port());
    client.sendAll(layerGet(ask.port, ask.repository, ask.credential));
    std::string response = client.readResponse();
    if (ask.served) {
      CHECK(response.find("X-Cache: STALE") != std::string::npos);
      CHECK(body(response) == kLayer);
    } else {
      CHECK(response.rfind("HTTP/1.1 502", 0) == 0);
      CHECK(response.find(kLayer.substr(0, 60)) == std::string::npos);
    }
  }
}

namespace {

// A registry behind an SSO gateway: whatever comes without the right credentials is sent to a
// login page, which answers 200 to anyone.
ScriptedUpstream ssoRegistry() {
  return ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    std::string line = request.requestLine();
    bool head = line.rfind("HEAD ", 0) == 0;
    std::string response;
    if (line.find(" /login") != std::string::npos) {
      response = okResponse("<html>please log in</html>", "Content-Type: text/html\r\n");
    } else if (!request.hasHeaderLine(kGood.substr(0, kGood.size() - 2))) {
      response = "HTTP/1.1 302 Found\r\nLocation: /login?next=/v2/\r\nContent-Length: 0\r\n\r\n";
    } else if (line.find("/manifests/") != std::string::npos) {
      response =
          okResponse(kManifest, "Content-Type: " + kManifestType +
                                    "\r\nDocker-Content-Digest: " + kManifestDigest + "\r\n");
    } else {
      response = okResponse(kLayer, "Content-Type: application/octet-stream\r\n"
                                    "Docker-Content-Digest: " +
                                        kLayerDigest + "\r\n");
    }
    if (head) response.resize(response.find("\r\n\r\n") + 4);
    reply.send(response);
  });
}

} // namespace

TEST_CASE("an SSO gateway's redirect to a login page is no yes", "[cache][access][isolation]") {
  for (const auto &content : kPrivateContent) {
    INFO(content.kind);
    auto upstream = ssoRegistry();
    ProxyFixture proxy;
    const std::string registryName = "http://127.0.0.1:" + std::to_string(upstream.port());
    auto owner = RawSocket::connectTo(proxy.port());
    owner.sendAll(contentRequest("GET", upstream.port(), "private/app", content, kGood));
    REQUIRE(body(owner.readResponse()) == content.bytes);
    // The public probe asks without credentials and is sent to the login page.
    bool probed = false;
    for (int attempt = 0; attempt < 50 && !probed; ++attempt) {
      std::this_thread::sleep_for(100ms);
      for (const auto &r : upstream.requests())
        probed = probed || isProbe(r);
    }
    REQUIRE(probed);
    std::this_thread::sleep_for(300ms); // its verdict, were it wrong, would be recorded now
    CHECK_FALSE(sourceRecorded(proxy, content.digest, registryName, "private/app", true));

    auto anonymous = RawSocket::connectTo(proxy.port());
    anonymous.sendAll(contentRequest("HEAD", upstream.port(), "private/app", content));
    std::string head = anonymous.readUntil(headOnly);
    CHECK(head.find("X-Cache: REVALIDATED") == std::string::npos);
    anonymous.sendAll(contentRequest("GET", upstream.port(), "private/app", content));
    std::string response = anonymous.readResponse();
    CHECK(response.find(content.bytes.substr(0, 60)) == std::string::npos);
    CHECK(response.find("X-Cache: REVALIDATED") == std::string::npos);
    CHECK_FALSE(sourceRecorded(proxy, content.digest, registryName, "private/app", true));
  }
}

TEST_CASE("a blob's HEAD redirected to storage confirms only if the storage has the blob",
          "[cache][access][isolation]") {
  for (bool storageHasIt : {true, false}) {
    INFO("storage has it: " << storageHasIt);
    // Storage serves the blob's GET; without the blob, its HEAD answers with another's length.
    ScriptedUpstream storage([storageHasIt](const RecordedRequest &request, UpstreamReply &reply) {
      bool head = request.requestLine().rfind("HEAD ", 0) == 0;
      std::string content = !head || storageHasIt ? kLayer : std::string("<html>no key</html>");
      std::string response = okResponse(content, "Content-Type: application/octet-stream\r\n");
      if (head) response.resize(response.find("\r\n\r\n") + 4);
      reply.send(response);
    });
    uint16_t storagePort = storage.port();
    // The registry sends every client it accepts on to storage, GETs and HEADs alike.
    ScriptedUpstream upstream([storagePort](const RecordedRequest &request, UpstreamReply &reply) {
      if (!request.hasHeaderLine(kGood.substr(0, kGood.size() - 2)) &&
          !request.hasHeaderLine(kOtherGood.substr(0, kOtherGood.size() - 2))) {
        reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\n"
                   "Content-Length: 0\r\n\r\n");
        return;
      }
      reply.send("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:" +
                 std::to_string(storagePort) + "/presigned?sig=abc\r\nContent-Length: 0\r\n\r\n");
    });
    ProxyFixture proxy;
    auto owner = RawSocket::connectTo(proxy.port());
    owner.sendAll(layerGet(upstream.port(), "private/app", kGood));
    REQUIRE(body(owner.readResponse()) == kLayer);

    auto other = RawSocket::connectTo(proxy.port());
    other.sendAll(layerGet(upstream.port(), "private/app", kOtherGood));
    std::string response = other.readResponse();
    if (storageHasIt) {
      CHECK(response.find("X-Cache: REVALIDATED") != std::string::npos);
      CHECK(body(response) == kLayer);
    } else {
      // Not confirmed: the client's own GET goes to the registry, whose redirect it gets.
      CHECK(response.rfind("HTTP/1.1 307", 0) == 0);
      CHECK(response.find("X-Cache: REVALIDATED") == std::string::npos);
    }
    bool headAtStorage = false;
    for (const auto &r : storage.requests())
      headAtStorage = headAtStorage || r.requestLine().rfind("HEAD /presigned?sig=abc ", 0) == 0;
    CHECK(headAtStorage);
    for (const auto &r : storage.requests())
      CHECK_FALSE(r.hasHeaderLine(kOtherGood.substr(0, kOtherGood.size() - 2)));
  }
}

TEST_CASE("plain http to a registry's host and port is not the registry that served over https",
          "[cache][access][isolation]") {
  // The registry serves private/app over https://127.0.0.1:P to kGood only. Whoever answers plain
  // HTTP on P (an attacker on the path, a spoofed name, another service) says yes to any HEAD.
  ScriptedUpstream registry([](const RecordedRequest &request, UpstreamReply &reply) {
    if (!request.hasHeaderLine(kGood.substr(0, kGood.size() - 2))) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    reply.send(okResponse(kLayer, "Content-Type: application/octet-stream\r\n"));
  });
  ScriptedUpstream yes([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kLayer.size()) + "\r\n\r\n");
  });
  TlsFront tls(registry.port(), yes.port());
  ProxyFixture proxy([&](auto &o) { o.upstreamCaFiles = {tls.caFile()}; });
  const std::string path = "127.0.0.1:" + std::to_string(tls.port()) + "/v2/private/app/blobs/" +
                           kLayerDigest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  auto owner = RawSocket::connectTo(proxy.port());
  owner.sendAll("GET https://" + path + kGood + "\r\n");
  REQUIRE(body(owner.readResponse()) == kLayer);

  auto attacker = RawSocket::connectTo(proxy.port());
  attacker.sendAll("GET http://" + path + "\r\n");
  std::string response = attacker.readResponse();
  CHECK(response.find("X-Cache: REVALIDATED") == std::string::npos);
  CHECK(response.find(kLayer.substr(0, 60)) == std::string::npos);
}
