// The loops never wait on SQLite: the index they read is in memory, and its changes are written
// behind by one thread. Another connection holding cache.db's write lock delays the writes, never
// a hit; a fill's response still completes only once its row is in the file.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "base/sha256.h"
#include "cache/index.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

const std::string kHot = std::string(2000, 'h');   // a small manifest-sized blob, hit in a loop
const std::string kCold = std::string(50000, 'c'); // filled while the lock is held
const std::string kHotDigest = "sha256:" + regcache::sha256Hex(kHot);
const std::string kColdDigest = "sha256:" + regcache::sha256Hex(kCold);

std::string get(uint16_t port, const std::string &digest) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/library/test/blobs/" + digest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

// An upstream serving kHot and kCold by their digests.
ScriptedUpstream twoBlobs() {
  return ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    bool hot = request.requestLine().find(kHotDigest) != std::string::npos;
    reply.send(okResponse(hot ? kHot : kCold, "Content-Type: application/octet-stream\r\n"));
  });
}

// Another process (a `regcache cache` command, a backup) holding the write lock on cache.db.
class WriteLock {
public:
  explicit WriteLock(const std::filesystem::path &db) {
    sqlite3 *raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    db_.reset(raw);
    // The proxy's own writes (its start-up, a batch of the index writer) hold the lock for
    // moments: wait those out, as another process would (BEGIN failed SQLITE_BUSY in CI).
    sqlite3_busy_timeout(db_.get(), 5000);
    REQUIRE(sqlite3_exec(db_.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  void release() {
    REQUIRE(sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  }

private:
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db_{nullptr, &sqlite3_close};
};

std::uint64_t hitsInFile(const ProxyFixture &proxy, const std::string &digest) {
  proxy.flushIndex();
  auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
  REQUIRE(index.ok());
  auto found = index.value()->findBlob(digest);
  REQUIRE(found.ok());
  return found.value() ? found.value()->hits : 0;
}

} // namespace

TEST_CASE("hits are served at once while another connection holds the index's write lock for "
          "3 s, and counted once it is released",
          "[cache][sqlite][integration]") {
  auto upstream = twoBlobs();
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(upstream.port(), kHotDigest));
  REQUIRE(body(client.readResponse()) == kHot);
  std::uint64_t hitsBefore = hitsInFile(proxy, kHotDigest);

  WriteLock lock(proxy.dataDir() / "cache.db");
  auto locked = std::chrono::steady_clock::now();
  // A miss whose row cannot be written yet: its response waits for the row, the loop does not.
  auto filler = RawSocket::connectTo(proxy.port());
  filler.sendAll(get(upstream.port(), kColdDigest));

  int served = 0;
  auto slowest = std::chrono::steady_clock::duration::zero();
  // Bounded in count and time: at most 3 s of hits, at most 2,000 of them.
  while (std::chrono::steady_clock::now() - locked < std::chrono::seconds(3) && served < 2000) {
    auto started = std::chrono::steady_clock::now();
    client.sendAll(get(upstream.port(), kHotDigest));
    std::string hit = client.readResponse(2000ms);
    auto took = std::chrono::steady_clock::now() - started;
    slowest = std::max(slowest, took);
    REQUIRE(hit.find("X-Cache: HIT") != std::string::npos);
    REQUIRE(body(hit) == kHot);
    ++served;
  }
  INFO("slowest hit: " << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
                       << " ms");
  CHECK(served > 10);
  CHECK(slowest < 500ms);
  // The fill's row is still waiting for the lock: its response has not completed.
  std::string early =
      filler.readUntil([](const std::string &s) { return responseLength(s) != 0; }, 100ms);
  CHECK(responseLength(early) == 0);

  lock.release();
  std::string filled =
      early + filler.readUntil([&](const std::string &s) { return responseLength(early + s) != 0; },
                               10000ms);
  CHECK(filled.find("X-Cache: MISS") != std::string::npos);
  CHECK(body(filled) == kCold);
  // Every hit made while the lock was held is in the file now, and the new blob is a hit.
  CHECK(hitsInFile(proxy, kHotDigest) == hitsBefore + static_cast<std::uint64_t>(served));
  client.sendAll(get(upstream.port(), kColdDigest));
  std::string again = client.readResponse();
  CHECK(again.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(again) == kCold);
}

TEST_CASE("a change another process makes to cache.db reaches the running proxy's memory view",
          "[cache][sqlite][integration]") {
  auto upstream = twoBlobs();
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(upstream.port(), kHotDigest));
  REQUIRE(client.readResponse().find("X-Cache: MISS") != std::string::npos);
  client.sendAll(get(upstream.port(), kHotDigest));
  REQUIRE(client.readResponse().find("X-Cache: HIT") != std::string::npos);

  // What `regcache cache rm REGISTRY/REPO` does beside a running server, file left in place: only
  // the index says the blob is gone.
  proxy.flushIndex();
  {
    auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
    REQUIRE(index.ok());
    auto forgotten = index.value()->forgetRepository(
        "http://127.0.0.1:" + std::to_string(upstream.port()), "library/test", nullptr);
    REQUIRE(forgotten.ok());
    REQUIRE(forgotten.value() == std::vector<std::string>{kHotDigest});
  }
  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) { // the writer looks every 2 s
    client.sendAll(get(upstream.port(), kHotDigest));
    answer = client.readResponse();
    if (answer.find("X-Cache: MISS") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  CHECK(answer.find("X-Cache: MISS") != std::string::npos);
  CHECK(body(answer) == kHot);
}

TEST_CASE("a fill whose client leaves while its row waits for the index still completes its "
          "followers",
          "[cache][sqlite][integration]") {
  auto upstream = twoBlobs();
  ProxyFixture proxy;
  WriteLock lock(proxy.dataDir() / "cache.db");
  auto leader = RawSocket::connectTo(proxy.port());
  leader.sendAll(get(upstream.port(), kColdDigest));
  // The leader's bytes are all stored, its row waits for the lock: its response is not over
  // (the held-back tail waits for the row).
  std::string partial =
      leader.readUntil([](const std::string &s) { return s.size() >= kCold.size() / 2; }, 5000ms);
  REQUIRE(partial.find("X-Cache: MISS") != std::string::npos);
  REQUIRE(responseLength(partial) == 0);
  auto follower = RawSocket::connectTo(proxy.port());
  follower.sendAll(get(upstream.port(), kColdDigest));
  std::string head = follower.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; }, 5000ms);
  REQUIRE(head.find("HTTP/1.1 200") == 0);
  leader.close();
  std::this_thread::sleep_for(200ms); // the proxy sees the leader go before the row lands
  lock.release();
  std::string followed =
      head + follower.readUntil([&](const std::string &s) { return responseLength(head + s) != 0; },
                                10000ms);
  REQUIRE(responseLength(followed) != 0);
  CHECK(body(followed) == kCold);
  CHECK(upstream.requests().size() == 1);
}
