// Bounds on what an upstream can make a fill cost (issue #9 item 13): fills in flight count
// toward --cache-max-size, a fill that stalls is abandoned after --fill-stall-timeout, and a blob
// announced past --max-blob-size passes through unstored. Every wait is bounded.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <thread>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "cache/index.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

std::string contentOf(char c) { return std::string(300000, c) + "end"; }
std::string digestOf(const std::string &content) {
  return "sha256:" + regcache::sha256Hex(content);
}

std::string blobGet(uint16_t port, const std::string &digest) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/library/test/blobs/" + digest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

std::string head(const std::string &content) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
         std::to_string(content.size()) + "\r\nDocker-Content-Digest: " + digestOf(content) +
         "\r\n\r\n";
}

bool indexed(const ProxyFixture &proxy, const std::string &digest) {
  proxy.flushIndex();
  auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
  REQUIRE(index.ok());
  auto found = index.value()->findBlob(digest);
  REQUIRE(found.ok());
  return found.value().has_value();
}

std::string readHead(RawSocket &client) {
  return client.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
}

} // namespace

TEST_CASE("a blob announced past --max-blob-size reaches the client and is not stored",
          "[cache][limits][integration]") {
  const std::string content = contentOf('m');
  ScriptedUpstream upstream(
      [&](const RecordedRequest &, UpstreamReply &reply) { reply.send(head(content) + content); });
  ProxyFixture proxy([](auto &o) { o.maxBlobSize = 1000; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(blobGet(upstream.port(), digestOf(content)));
  std::string response = client.readResponse();
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(response) == content);
  CHECK_FALSE(indexed(proxy, digestOf(content)));
  client.sendAll(blobGet(upstream.port(), digestOf(content)));
  CHECK(body(client.readResponse()) == content);
  CHECK(upstream.requests().size() == 2); // passed through again, never a hit
}

TEST_CASE("a fill whose upstream stalls mid-body is abandoned, and its follower is not left "
          "hanging",
          "[cache][limits][integration]") {
  const std::string content = contentOf('s');
  std::atomic<bool> release{false};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    if (!reply.send(head(content) + content.substr(0, 100000))) return;
    for (int i = 0; i < 250 && !release.load(); ++i) // silent for at most 5 s
      std::this_thread::sleep_for(20ms);
  });
  ProxyFixture proxy([](auto &o) {
    o.workers = 2;
    o.fillStallTimeout = std::chrono::milliseconds(300);
  });
  auto started = std::chrono::steady_clock::now();
  auto leader = RawSocket::connectTo(proxy.port());
  leader.sendAll(blobGet(upstream.port(), digestOf(content)));
  std::string leaderGot = readHead(leader);
  REQUIRE(leaderGot.rfind("HTTP/1.1 200", 0) == 0);
  auto follower = RawSocket::connectTo(proxy.port());
  follower.sendAll(blobGet(upstream.port(), digestOf(content)));

  leaderGot += leader.readAll(4000ms);
  std::string followerGot = follower.readAll(4000ms);
  auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(elapsed < 3000ms); // both cut off by the stall timeout, not by the test's own deadline
  CHECK(responseLength(leaderGot) == 0);
  CHECK(responseLength(followerGot) == 0);
  CHECK_FALSE(indexed(proxy, digestOf(content)));
  CHECK(upstream.requests().size() == 1); // the follower followed, then was cut
  release = true;
}

TEST_CASE("fills in flight count toward --cache-max-size: one that does not fit passes through",
          "[cache][limits][eviction][integration]") {
  std::map<std::string, std::string> blobs;
  for (char c : {'x', 'y'})
    blobs[digestOf(contentOf(c))] = contentOf(c);
  ScriptedUpstream upstream([&](const RecordedRequest &request, UpstreamReply &reply) {
    std::string line = request.requestLine();
    const std::string &content = blobs.at(line.substr(line.find("sha256:"), 71));
    if (!reply.send(head(content) + content.substr(0, 150000))) return;
    std::this_thread::sleep_for(400ms); // both fills are in flight now
    reply.send(content.substr(150000));
  });
  ProxyFixture proxy([](auto &o) {
    o.cacheMaxSize = 500000; // room for one of the two 300 KB blobs, not both
    o.evictionInterval = std::chrono::hours(1);
  });
  auto first = RawSocket::connectTo(proxy.port());
  first.sendAll(blobGet(upstream.port(), blobs.begin()->first));
  std::string firstGot = readHead(first);
  REQUIRE(firstGot.rfind("HTTP/1.1 200", 0) == 0);
  auto second = RawSocket::connectTo(proxy.port());
  second.sendAll(blobGet(upstream.port(), std::next(blobs.begin())->first));
  std::string secondGot = second.readResponse(5000ms);
  firstGot += first.readUntil(
      [&](const std::string &rest) { return responseLength(firstGot + rest) != 0; }, 5000ms);
  CHECK(body(secondGot) == std::next(blobs.begin())->second); // passed through whole
  CHECK(body(firstGot) == blobs.begin()->second);
  CHECK(indexed(proxy, blobs.begin()->first));
  CHECK_FALSE(indexed(proxy, std::next(blobs.begin())->first));
}
