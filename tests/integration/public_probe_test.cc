// Token registries (Docker Hub's kind) give every client a bearer token, anonymous pulls
// included. After a fetch with such a token the proxy asks upstream itself whether anyone may
// read the repository (a HEAD without credentials, then with an anonymous token from the
// challenge's realm); public content is then served to anyone, also while upstream is down.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "cache/index.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;
using namespace std::chrono_literals;

namespace {

const std::string kLayer = std::string(100000, 'p') + "end";
const std::string kLayerDigest = "sha256:" + regcache::sha256Hex(kLayer);
const std::string kAnonymousToken = "anonymous-token";
// Sent slowly (about 0.3 s), so that concurrent requests overlap.
const std::string kSlow = std::string(300000, 's') + "end";
const std::string kSlowDigest = "sha256:" + regcache::sha256Hex(kSlow);
const std::string kPrivateToken = "Bearer token-for-private";

// library/* is public, private/* needs kPrivateToken; the token endpoint is /token on the same
// server and hands anyone an anonymous token. With `failing` set, everything answers 503.
struct TokenRegistry {
  std::atomic<uint16_t> port{0};
  std::atomic<bool> failing{false};
  ScriptedUpstream server{[this](const RecordedRequest &request, UpstreamReply &reply) {
    const std::string line = request.requestLine();
    if (failing) {
      reply.send("HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    if (line.find(" /token?") != std::string::npos) {
      reply.send(okResponse("{\"token\": \"" + kAnonymousToken + "\", \"expires_in\": 300}",
                            "Content-Type: application/json\r\n"));
      return;
    }
    bool isPrivate = line.find("/v2/private/") != std::string::npos;
    bool allowed = isPrivate ? request.hasHeaderLine("Authorization: " + kPrivateToken)
                             : request.head.find("Authorization: Bearer ") != std::string::npos;
    if (!allowed) {
      std::string repository = isPrivate ? "private/app" : "library/base";
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://127.0.0.1:" +
                 std::to_string(port.load()) + "/token\",service=\"test\",scope=\"repository:" +
                 repository + ":pull\"\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    if (line.rfind("GET ", 0) == 0 && line.find(kSlowDigest) != std::string::npos) {
      if (!reply.send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: " +
                      std::to_string(kSlow.size()) + "\r\n\r\n")) {
        return;
      }
      for (std::size_t offset = 0; offset < kSlow.size(); offset += 50000) {
        std::this_thread::sleep_for(40ms);
        if (!reply.send(kSlow.substr(offset, 50000))) return;
      }
      return;
    }
    std::string response = okResponse(
        kLayer, "Content-Type: application/octet-stream\r\nDocker-Content-Digest: " + kLayerDigest +
                    "\r\n");
    if (line.rfind("HEAD ", 0) == 0) response.resize(response.find("\r\n\r\n") + 4);
    reply.send(response);
  }};
  TokenRegistry() { port = server.port(); }

  bool saw(const std::string &lineStart, const std::string &headerLine) const {
    for (const auto &r : server.requests())
      if (r.requestLine().rfind(lineStart, 0) == 0 &&
          (headerLine.empty() || r.hasHeaderLine(headerLine)))
        return true;
    return false;
  }
};

std::string layerGet(uint16_t port, const std::string &repository, const std::string &extra,
                     const std::string &digest = kLayerDigest) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/" + repository + "/blobs/" + digest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

bool servedAnonymously(const ProxyFixture &proxy, const std::string &registry,
                       const std::string &repository) {
  proxy.flushIndex();
  auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
  if (!index.ok()) return false;
  auto served = index.value()->servedUnder(kLayerDigest, registry, repository, true);
  return served.ok() && served.value();
}

} // namespace

TEST_CASE("content fetched with an anonymous token is found public and survives an outage",
          "[cache][access][probe]") {
  TokenRegistry upstream;
  ProxyFixture proxy;
  const std::string registry = "http://127.0.0.1:" + std::to_string(upstream.port.load());
  {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(layerGet(upstream.port, "library/base", "Authorization: Bearer per-client\r\n"));
    std::string first = client.readResponse();
    REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(body(first) == kLayer);
  }
  bool isPublic = false;
  for (int attempt = 0; attempt < 50 && !isPublic; ++attempt) { // the probe is three requests
    std::this_thread::sleep_for(100ms);
    isPublic = servedAnonymously(proxy, registry, "library/base");
  }
  REQUIRE(isPublic);
  // The probe: no credentials, then an anonymous token for the repository, then with it.
  CHECK(upstream.saw("GET /token?service=test&scope=repository%3Alibrary%2Fbase%3Apull", ""));
  CHECK(upstream.saw("HEAD /v2/library/base/blobs/" + kLayerDigest,
                     "Authorization: Bearer " + kAnonymousToken));

  upstream.failing = true;
  auto anonymous = RawSocket::connectTo(proxy.port());
  anonymous.sendAll(layerGet(upstream.port, "library/base", ""));
  std::string served = anonymous.readResponse();
  CHECK(served.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(served.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(served) == kLayer);
}

TEST_CASE("content the anonymous token cannot read stays private", "[cache][access][probe]") {
  TokenRegistry upstream;
  ProxyFixture proxy;
  const std::string registry = "http://127.0.0.1:" + std::to_string(upstream.port.load());
  {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(
        layerGet(upstream.port, "private/app", "Authorization: " + kPrivateToken + "\r\n"));
    REQUIRE(body(client.readResponse()) == kLayer);
  }
  bool probed = false;
  for (int attempt = 0; attempt < 50 && !probed; ++attempt) {
    std::this_thread::sleep_for(100ms);
    probed = upstream.saw("HEAD /v2/private/app/blobs/" + kLayerDigest,
                          "Authorization: Bearer " + kAnonymousToken);
  }
  REQUIRE(probed);
  std::this_thread::sleep_for(200ms); // the probe's verdict, were it wrong, would be recorded now
  CHECK_FALSE(servedAnonymously(proxy, registry, "private/app"));

  upstream.failing = true;
  auto anonymous = RawSocket::connectTo(proxy.port());
  anonymous.sendAll(layerGet(upstream.port, "private/app", ""));
  std::string refused = anonymous.readResponse();
  CHECK(refused.rfind("HTTP/1.1 200", 0) != 0);
  CHECK(refused.find(kLayer.substr(0, 100)) == std::string::npos);
}

TEST_CASE("in a repository found public, clients with tokens of their own share one fill",
          "[cache][access][probe]") {
  TokenRegistry upstream;
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  const std::string registry = "http://127.0.0.1:" + std::to_string(upstream.port.load());
  {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(layerGet(upstream.port, "library/base", "Authorization: Bearer first\r\n"));
    REQUIRE(body(client.readResponse()) == kLayer);
  }
  bool isPublic = false;
  for (int attempt = 0; attempt < 50 && !isPublic; ++attempt) {
    std::this_thread::sleep_for(100ms);
    isPublic = servedAnonymously(proxy, registry, "library/base");
  }
  REQUIRE(isPublic);

  // Docker Hub's way: every client has its own token.
  std::vector<std::string> bodies(4);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30 * i));
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(layerGet(upstream.port, "library/base",
                              "Authorization: Bearer client-" + std::to_string(i) + "\r\n",
                              kSlowDigest));
      bodies[i] = body(client.readResponse(10000ms));
    });
  }
  for (auto &c : clients)
    c.join();
  for (const auto &b : bodies)
    CHECK(b == kSlow);
  int gets = 0;
  for (const auto &r : upstream.server.requests())
    if (r.requestLine().rfind("GET /v2/library/base/blobs/" + kSlowDigest, 0) == 0) ++gets;
  CHECK(gets == 1);
}

TEST_CASE("the public probe asks the registry, not the storage a blob was redirected to",
          "[cache][access][probe]") {
  // Storage that answers anything: it knows nothing of who may read the registry's repositories.
  ScriptedUpstream storage([](const RecordedRequest &request, UpstreamReply &reply) {
    std::string response = okResponse(kLayer, "Content-Type: application/octet-stream\r\n");
    if (request.requestLine().rfind("HEAD ", 0) == 0) {
      response.resize(response.find("\r\n\r\n") + 4);
    }
    reply.send(response);
  });
  uint16_t storagePort = storage.port();
  ScriptedUpstream registry([storagePort](const RecordedRequest &request, UpstreamReply &reply) {
    if (!request.hasHeaderLine("Authorization: " + kPrivateToken)) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\n"
                 "Content-Length: 0\r\n\r\n");
      return;
    }
    reply.send("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:" +
               std::to_string(storagePort) + "/presigned?sig=abc\r\nContent-Length: 0\r\n\r\n");
  });
  ProxyFixture proxy;
  const std::string registryName = "http://127.0.0.1:" + std::to_string(registry.port());
  {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(
        layerGet(registry.port(), "private/app", "Authorization: " + kPrivateToken + "\r\n"));
    REQUIRE(body(client.readResponse()) == kLayer);
  }
  auto probes = [](const ScriptedUpstream &server) {
    int count = 0;
    for (const auto &r : server.requests())
      if (r.hasHeaderLine("User-Agent: regcache (public probe)")) ++count;
    return count;
  };
  for (int attempt = 0; attempt < 50 && probes(registry) + probes(storage) == 0; ++attempt)
    std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(200ms); // the probe's verdict, were it wrong, would be recorded now
  CHECK(probes(registry) == 1);
  CHECK(probes(storage) == 0);
  CHECK_FALSE(servedAnonymously(proxy, registryName, "private/app"));

  auto anonymous = RawSocket::connectTo(proxy.port());
  anonymous.sendAll(layerGet(registry.port(), "private/app", ""));
  std::string refused = anonymous.readResponse();
  CHECK(refused.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(refused.find(kLayer.substr(0, 100)) == std::string::npos);
}
