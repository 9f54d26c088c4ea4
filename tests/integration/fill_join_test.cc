// One upstream fetch per digest across credentials: a client whose credential is not the one the
// fill was started with reads the fill only after upstream accepts it (a HEAD with its own
// Authorization); a refusal is upstream's own, and no byte of the fill.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

const std::string kLayer = std::string(400000, 'j') + "end";
const std::string kLayerDigest = "sha256:" + regcache::sha256Hex(kLayer);
constexpr int kTokens = 16;

std::string token(int i) { return "Authorization: Bearer token-" + std::to_string(i); }

std::string layerGet(uint16_t port, const std::string &authorizationLine) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/private/app/blobs/" + kLayerDigest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + authorizationLine + "\r\n\r\n";
}

std::string body(const std::string &response) {
  auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

bool sentBy(const RecordedRequest &request, const std::string &authorizationLine) {
  return request.hasHeaderLine(authorizationLine);
}

bool fromProbe(const RecordedRequest &request) {
  return request.hasHeaderLine("User-Agent: regcache (public probe)");
}

bool isMethod(const RecordedRequest &request, const std::string &method) {
  return request.requestLine().rfind(method + " ", 0) == 0;
}

// A registry whose private/app takes any of kTokens bearer tokens and refuses anything else
// with its own 401. A GET streams the layer slowly, so the fill is in flight for a while.
ScriptedUpstream tokenRegistry() {
  return ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    bool allowed = false;
    for (int i = 0; i < kTokens; ++i)
      allowed = allowed || sentBy(request, token(i));
    if (!allowed) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"joiners\"\r\n"
                 "Content-Type: text/plain\r\nContent-Length: 18\r\n\r\nnot for you, sorry");
      return;
    }
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                       "Docker-Content-Digest: " +
                       kLayerDigest + "\r\nContent-Length: " + std::to_string(kLayer.size()) +
                       "\r\n\r\n";
    if (isMethod(request, "HEAD")) {
      reply.send(head);
      return;
    }
    if (!reply.send(head)) return;
    for (std::size_t offset = 0; offset < kLayer.size(); offset += 50000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      if (!reply.send(kLayer.substr(offset, 50000))) return;
    }
  });
}

std::size_t countRequests(const ScriptedUpstream &upstream, const std::string &method) {
  auto requests = upstream.requests();
  return static_cast<std::size_t>(
      std::count_if(requests.begin(), requests.end(), [&](const RecordedRequest &r) {
        return isMethod(r, method) && !fromProbe(r);
      }));
}

} // namespace

TEST_CASE("sixteen clients, each with a token of its own, pulling one blob make one upstream GET",
          "[cache][fill][isolation]") {
  auto upstream = tokenRegistry();
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  std::vector<std::string> responses(kTokens);
  std::vector<std::thread> clients;
  for (int i = 0; i < kTokens; ++i) {
    clients.emplace_back([&, i] {
      // Some join before the fill's head, some while it streams.
      std::this_thread::sleep_for(std::chrono::milliseconds(15 * i));
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(layerGet(upstream.port(), token(i)));
      responses[static_cast<std::size_t>(i)] = client.readResponse(15000ms);
    });
  }
  for (auto &c : clients)
    c.join();
  for (int i = 0; i < kTokens; ++i) {
    const std::string &r = responses[static_cast<std::size_t>(i)];
    INFO("client " << i << ": " << r.substr(0, r.find("\r\n")));
    CHECK(r.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(body(r) == kLayer);
  }
  CHECK(countRequests(upstream, "GET") == 1);
  // Every other client was asked about with its own token, at most once.
  CHECK(countRequests(upstream, "HEAD") <= kTokens - 1);
}

TEST_CASE("a joiner upstream refuses gets upstream's own refusal and nothing of the fill",
          "[cache][fill][isolation]") {
  auto upstream = tokenRegistry();
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  auto leader = RawSocket::connectTo(proxy.port());
  leader.sendAll(layerGet(upstream.port(), token(0)));
  std::string started = leader.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(started.rfind("HTTP/1.1 200", 0) == 0); // the fill is streaming

  const std::string wrong = "Authorization: Bearer stolen-digest-guess";
  auto joiner = RawSocket::connectTo(proxy.port());
  joiner.sendAll(layerGet(upstream.port(), wrong));
  std::string refused = joiner.readResponse(10000ms);
  CHECK(refused.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(refused.find("WWW-Authenticate: Basic realm=\"joiners\"") != std::string::npos);
  CHECK(body(refused) == "not for you, sorry");
  CHECK(refused.find("jjjj") == std::string::npos);

  std::string rest = leader.readResponse(10000ms);
  CHECK(body(started + rest) == kLayer);

  // The fill's GET, the joiner's HEAD with its own credential, then its own GET: upstream's
  // answer, body and all.
  std::vector<std::string> lines;
  for (const auto &r : upstream.requests()) {
    if (fromProbe(r)) continue;
    std::string method = r.requestLine().substr(0, r.requestLine().find(' '));
    lines.push_back(method + (sentBy(r, wrong) ? " joiner" : " leader"));
  }
  CHECK(lines == std::vector<std::string>{"GET leader", "HEAD joiner", "GET joiner"});
}

namespace {

// A registry that sends every blob request to storage, as Docker Hub does with its CDN.
ScriptedUpstream redirectingRegistry(uint16_t storagePort) {
  return ScriptedUpstream([storagePort](const RecordedRequest &request, UpstreamReply &reply) {
    bool allowed = false;
    for (int i = 0; i < kTokens; ++i)
      allowed = allowed || sentBy(request, token(i));
    if (!allowed) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"joiners\"\r\n"
                 "Content-Length: 0\r\n\r\n");
      return;
    }
    reply.send("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:" +
               std::to_string(storagePort) + "/storage/layer?sig=abc\r\nContent-Length: 0\r\n\r\n");
  });
}

} // namespace

TEST_CASE("joiners whose HEAD is redirected to storage share one storage GET",
          "[cache][fill][isolation]") {
  auto storage = ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: " +
                       std::to_string(kLayer.size()) + "\r\n\r\n";
    if (!reply.send(head) || isMethod(request, "HEAD")) return;
    for (std::size_t offset = 0; offset < kLayer.size(); offset += 50000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      if (!reply.send(kLayer.substr(offset, 50000))) return;
    }
  });
  auto registry = redirectingRegistry(storage.port());
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  constexpr int kClients = 6;
  std::vector<std::string> responses(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30 * i));
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(layerGet(registry.port(), token(i)));
      responses[static_cast<std::size_t>(i)] = client.readResponse(15000ms);
    });
  }
  for (auto &c : clients)
    c.join();
  for (const auto &r : responses) {
    CHECK(r.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(body(r) == kLayer);
  }
  CHECK(countRequests(storage, "GET") == 1);
  // Credentials never go to storage.
  for (const auto &r : storage.requests())
    CHECK(r.head.find("Authorization") == std::string::npos);
}

TEST_CASE("a joiner's HEAD answered 200 for another digest is no yes", "[cache][fill][isolation]") {
  const std::string liar = "Authorization: Bearer names-another-digest";
  auto upstream = ScriptedUpstream([&liar](const RecordedRequest &request, UpstreamReply &reply) {
    if (sentBy(request, liar)) {
      // Says yes to the HEAD, but for other content; the GET tells the truth.
      reply.send(isMethod(request, "HEAD")
                     ? "HTTP/1.1 200 OK\r\nDocker-Content-Digest: sha256:" + std::string(64, 'e') +
                           "\r\nContent-Length: 3\r\n\r\n"
                     : std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 7\r\n\r\nunknown"));
      return;
    }
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                       "Docker-Content-Digest: " +
                       kLayerDigest + "\r\nContent-Length: " + std::to_string(kLayer.size()) +
                       "\r\n\r\n";
    if (!reply.send(head)) return;
    for (std::size_t offset = 0; offset < kLayer.size(); offset += 50000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      if (!reply.send(kLayer.substr(offset, 50000))) return;
    }
  });
  ProxyFixture proxy;
  auto leader = RawSocket::connectTo(proxy.port());
  leader.sendAll(layerGet(upstream.port(), token(0)));
  std::string started = leader.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(started.rfind("HTTP/1.1 200", 0) == 0);
  auto joiner = RawSocket::connectTo(proxy.port());
  joiner.sendAll(layerGet(upstream.port(), liar));
  std::string answer = joiner.readResponse(10000ms);
  CHECK(answer.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(answer.find("jjjj") == std::string::npos);
  CHECK(body(started + leader.readResponse(10000ms)) == kLayer);
}
