// A fill belongs to the process, not to the client that started it (proxy/cache/fill.h): that
// client is one reader among others, and leaving is all it does.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "base/sha256.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;
using namespace std::chrono_literals;

namespace {

const std::string kBlob = std::string(300000, 'o') + "wner";
const std::string kDigest = "sha256:" + regcache::sha256Hex(kBlob);

std::string blobGet(uint16_t port) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/library/test/blobs/" + kDigest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

std::string metrics(uint16_t proxyPort) {
  auto client = RawSocket::connectTo(proxyPort);
  client.sendAll("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n");
  return client.readResponse();
}

} // namespace

TEST_CASE("a client that leaves the fill it started is done at once; the fill commits without it",
          "[cache][fill][integration]") {
  // Upstream sends the head and a third of the body, then trickles (so the proxy learns soon
  // that a reader's socket is gone) until the test releases the rest (10 s at most).
  std::atomic<bool> release{false};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    if (!reply.send(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
            std::to_string(kBlob.size()) + "\r\n\r\n" + kBlob.substr(0, 100000))) {
      return;
    }
    std::size_t offset = 100000;
    for (int i = 0; i < 200 && !release.load() && offset < 200000; ++i, offset += 500) {
      if (!reply.send(kBlob.substr(offset, 500))) return;
      std::this_thread::sleep_for(50ms);
    }
    reply.send(kBlob.substr(offset));
  });
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  auto starter = RawSocket::connectTo(proxy.port());
  starter.sendAll(blobGet(upstream.port()));
  std::string head = starter.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(head.rfind("HTTP/1.1 200", 0) == 0);
  auto follower = RawSocket::connectTo(proxy.port());
  follower.sendAll(blobGet(upstream.port()));
  std::this_thread::sleep_for(50ms); // the follower has joined the fill
  starter.close();

  // The starter's request is over when it leaves, while upstream still holds the fill: no
  // stand-in keeps it open until the fill ends.
  const std::string counted = "regcache_requests_total{route=\"blob\",outcome=\"miss\"} 1";
  bool countedWhileFilling = false;
  for (int attempt = 0; attempt < 30 && !countedWhileFilling; ++attempt) {
    countedWhileFilling = metrics(proxy.port()).find(counted) != std::string::npos;
    if (!countedWhileFilling) std::this_thread::sleep_for(50ms);
  }
  CHECK(countedWhileFilling);
  CHECK(upstream.requests().size() == 1);

  release = true;
  CHECK(body(follower.readResponse(10000ms)) == kBlob);
  auto later = RawSocket::connectTo(proxy.port());
  later.sendAll(blobGet(upstream.port()));
  std::string hit = later.readResponse();
  CHECK(hit.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(hit) == kBlob);
  CHECK(upstream.requests().size() == 1);
}
