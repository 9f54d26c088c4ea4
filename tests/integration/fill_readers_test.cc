// Every client of a fill is a reader at its own pace: readers join at any point, on any worker,
// and a client that stops reading (the one whose request started the fill included) holds up
// neither the fill nor its other readers.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "cache/index.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

std::string blobGet(uint16_t port, const std::string &digest) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/library/readers/blobs/" + digest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string body(const std::string &response) {
  auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

std::string okHead(const std::string &digest, std::size_t size) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nDocker-Content-Digest: " +
         digest + "\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
}

// Waits, bounded, until `stage` reaches `at`.
bool waitFor(const std::atomic<int> &stage, int at) {
  for (int i = 0; i < 1000 && stage.load() < at; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return stage.load() >= at;
}

std::size_t gets(const ScriptedUpstream &upstream) {
  std::size_t n = 0;
  for (const auto &r : upstream.requests())
    n += r.requestLine().rfind("GET ", 0) == 0 ? 1 : 0;
  return n;
}

bool indexed(const ProxyFixture &proxy, const std::string &digest) {
  auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
  if (!index.ok()) return false;
  auto found = index.value()->findBlob(digest);
  return found.ok() && found.value().has_value();
}

} // namespace

TEST_CASE("readers join a fill at its first byte, mid-way and at its end, on any worker",
          "[cache][fill][readers]") {
  const std::string blob = std::string(600000, 'r') + "the last bytes";
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  const std::size_t half = blob.size() / 2;
  const std::size_t almost = blob.size() - 10;
  std::atomic<int> stage{0};
  auto upstream = ScriptedUpstream([&](const RecordedRequest &, UpstreamReply &reply) {
    // Each part waits for the test: readers join between them.
    if (!waitFor(stage, 1) || !reply.send(okHead(digest, blob.size()) + blob.substr(0, half)))
      return;
    if (!waitFor(stage, 2) || !reply.send(blob.substr(half, almost - half))) return;
    if (!waitFor(stage, 3)) return;
    reply.send(blob.substr(almost));
  });
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  auto leader = RawSocket::connectTo(proxy.port());
  leader.sendAll(blobGet(upstream.port(), digest));
  std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the fill is asked for
  std::vector<RawSocket> readers;
  auto join = [&] {
    for (int i = 0; i < 2; ++i) { // two at each point: connections spread over the workers
      readers.push_back(RawSocket::connectTo(proxy.port()));
      readers.back().sendAll(blobGet(upstream.port(), digest));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // they have joined
  };
  join(); // before the first byte
  stage = 1;
  // The leader's client gets bytes once the fill has them (the newest held back until verified),
  // and upstream waits at each part: then the fill holds exactly that part.
  std::string led =
      leader.readUntil([&](const std::string &s) { return !body(s).empty(); }, 10000ms);
  REQUIRE(!body(led).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  join(); // mid-way
  stage = 2;
  led +=
      leader.readUntil([&](const std::string &s) { return body(led + s).size() > half; }, 10000ms);
  REQUIRE(body(led).size() > half);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  join(); // at the end: everything but the last bytes is in
  stage = 3;
  led += leader.readResponse(10000ms);
  CHECK(body(led) == blob);
  for (std::size_t i = 0; i < readers.size(); ++i) {
    INFO("reader " << i);
    std::string r = readers[i].readResponse(10000ms);
    CHECK(r.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(body(r) == blob);
  }
  CHECK(gets(upstream) == 1);
}

TEST_CASE("a client that stops reading holds up neither the fill nor its other readers",
          "[cache][fill][readers]") {
  // Far past what the client's socket buffers and the proxy's high mark hold.
  std::string blob(32 * 1024 * 1024, 's');
  for (std::size_t i = 0; i < blob.size(); i += 4096)
    blob[i] = static_cast<char>('a' + (i / 4096) % 26);
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  auto upstream = ScriptedUpstream([&](const RecordedRequest &, UpstreamReply &reply) {
    if (!reply.send(okHead(digest, blob.size()))) return;
    for (std::size_t offset = 0; offset < blob.size(); offset += 1 << 20) {
      if (!reply.send(blob.substr(offset, 1 << 20))) return;
    }
  });
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  // The client whose request starts the fill reads the head, then nothing.
  auto stalled = RawSocket::connectTo(proxy.port());
  stalled.sendAll(blobGet(upstream.port(), digest));
  std::string head = stalled.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(head.rfind("HTTP/1.1 200", 0) == 0);
  // A reader that joins and stalls too.
  auto stalledReader = RawSocket::connectTo(proxy.port());
  stalledReader.sendAll(blobGet(upstream.port(), digest));
  std::vector<std::string> bodies(3);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    readers.emplace_back([&, i] {
      auto reader = RawSocket::connectTo(proxy.port());
      reader.sendAll(blobGet(upstream.port(), digest));
      bodies[i] = body(reader.readResponse(20000ms));
    });
  }
  for (auto &r : readers)
    r.join();
  for (const auto &b : bodies)
    CHECK(b == blob);
  // The fill is committed while both stalled clients still have not read.
  bool committed = false;
  for (int i = 0; i < 100 && !committed; ++i) {
    committed = indexed(proxy, digest);
    if (!committed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(committed);
  // Each stalled client kept its own position: it gets the whole blob once it reads.
  CHECK(body(head + stalled.readResponse(20000ms)) == blob);
  CHECK(body(stalledReader.readResponse(20000ms)) == blob);
  CHECK(gets(upstream) == 1);
}

TEST_CASE("a client that fell behind a fill of wrong bytes never gets its last byte",
          "[cache][fill][readers]") {
  std::string blob(24 * 1024 * 1024, 'w');
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  std::string lie = blob;
  lie[lie.size() / 2] = 'X';
  auto liar = ScriptedUpstream([&](const RecordedRequest &, UpstreamReply &reply) {
    if (!reply.send(okHead(digest, lie.size()))) return;
    for (std::size_t offset = 0; offset < lie.size(); offset += 1 << 20) {
      if (!reply.send(lie.substr(offset, 1 << 20))) return;
    }
  });
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  auto stalled = RawSocket::connectTo(proxy.port());
  stalled.sendAll(blobGet(liar.port(), digest));
  std::string head = stalled.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(head.rfind("HTTP/1.1 200", 0) == 0);
  auto reader = RawSocket::connectTo(proxy.port());
  reader.sendAll(blobGet(liar.port(), digest));
  std::string followed = reader.readAll(20000ms);
  CHECK(body(followed).size() < blob.size());
  // The stalled client reads only now, long after the fill was found wrong.
  std::string led = head + stalled.readAll(20000ms);
  CHECK(body(led).size() < blob.size());
  CHECK_FALSE(indexed(proxy, digest));
}
