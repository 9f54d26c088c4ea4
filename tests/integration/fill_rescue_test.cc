// The client that started a fill and fell behind (it reads the fill back from the store, its
// socket full) when the local store fails (a full disk): it reads back what the store took, gets
// the bytes still in flight from memory, then the rest passed through (proxy/cache/fill.h,
// starter_reader.h). The store fails on demand (tests/faulty_blob_store.h, wrapped around the
// server's own store), so the race e2e_cache_disk_full met under load happens every time.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "base/log.h"
#include "base/sha256.h"
#include "cache/index.h"
#include "faulty_blob_store.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kBlobSize = 24u << 20;
constexpr std::size_t kFirstPart = 16u << 20; // stored before the appends fail

// Bytes that differ along the blob, so a byte out of place shows.
std::string makeBlob() {
  std::string blob(kBlobSize, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i)
    blob[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  return blob;
}

std::string blobGet(uint16_t port, const std::string &digest) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/library/rescue/blobs/" + digest +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string okHead(const std::string &digest, std::size_t size) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nDocker-Content-Digest: " +
         digest + "\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
}

std::string body(const std::string &response) {
  auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

bool eventually(const std::function<bool()> &done, int tries = 200) {
  for (int i = 0; i < tries; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(25ms);
  }
  return done();
}

// Sends the head and `upTo` bytes, waits (10 s at most) for `release`, then sends the rest.
void sendInTwo(UpstreamReply &reply, const std::string &digest, const std::string &blob,
               std::size_t upTo, const std::atomic<bool> &release) {
  if (!reply.send(okHead(digest, blob.size()))) return;
  for (std::size_t offset = 0; offset < blob.size(); offset += 1u << 20) {
    for (int i = 0; i < 400 && offset >= upTo && !release.load(); ++i)
      std::this_thread::sleep_for(25ms);
    if (!reply.send(blob.substr(offset, 1u << 20))) return;
  }
}

// The proxy's cache log lines, kept while it lives.
class CacheLog {
public:
  CacheLog() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(512)) {
    regcache::log::cache().sinks().push_back(sink_);
  }
  ~CacheLog() {
    auto &sinks = regcache::log::cache().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  bool has(const std::string &text) const {
    for (const auto &line : sink_->last_formatted())
      if (line.find(text) != std::string::npos) return true;
    return false;
  }

private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

// A client that reads the head, then nothing: a small receive buffer, so it soon falls behind.
RawSocket stalledClient(uint16_t proxyPort, uint16_t upstreamPort, const std::string &digest,
                        std::string &received, int receiveBuffer = 64 * 1024) {
  auto client = RawSocket::connectTo(proxyPort, nullptr, receiveBuffer);
  client.sendAll(blobGet(upstreamPort, digest));
  received = client.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  return client;
}

// How many body bytes `received` (which holds the whole head) and `more` after it hold. Counted,
// not copied: a predicate that built received + more on each read was quadratic in the body
// (about 10 GB of copying for 24 MiB read 64 KiB at a time), which ran out of time under load.
std::size_t bodyBytes(const std::string &received, const std::string &more) {
  auto end = received.find("\r\n\r\n");
  return end == std::string::npos ? 0 : received.size() - (end + 4) + more.size();
}

// Reads until the whole body is in, the proxy closes, or 30 s pass.
std::string readRest(RawSocket &client, const std::string &received) {
  return received +
         client.readUntil([&](const std::string &s) { return bodyBytes(received, s) >= kBlobSize; },
                          30000ms);
}

// Compared apart from CHECK, which would print both blobs on a failure.
bool exact(const std::string &got, const std::string &want) { return got == want; }

bool indexed(const ProxyFixture &proxy, const std::string &digest) {
  proxy.flushIndex();
  auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
  if (!index.ok()) return false;
  auto found = index.value()->findBlob(digest);
  return found.ok() && found.value().has_value();
}

// Neither a committed blob nor an unfinished write of it is left on the disk.
bool nothingStored(const ProxyFixture &proxy, const std::string &digest) {
  std::string hex = digest.substr(7);
  std::error_code ec;
  if (std::filesystem::exists(proxy.dataDir() / "blobs" / "sha256" / hex.substr(0, 2) / hex, ec))
    return false;
  return std::filesystem::is_empty(proxy.dataDir() / "tmp", ec);
}

// A proxy whose own store is wrapped in `store`, switches off; `relayHighWatermark`: the bytes
// queued for a client past which it counts as not keeping up.
std::unique_ptr<ProxyFixture> proxyOver(std::shared_ptr<FaultyBlobStore> &store,
                                        std::size_t relayHighWatermark = 1u << 20) {
  auto proxy = std::make_unique<ProxyFixture>([&](auto &o) {
    o.relayHighWatermark = relayHighWatermark;
    o.localStoreWrapperForTests = [&](std::shared_ptr<regcache::cache::BlobStore> inner) {
      store = std::make_shared<FaultyBlobStore>(std::move(inner));
      return std::shared_ptr<regcache::cache::BlobStore>(store);
    };
  });
  REQUIRE(store);
  return proxy;
}

} // namespace

// The client got the whole body, byte-exact, and nothing of it was kept or indexed: the
// response of a plain forward, fetched from upstream once.
void checkWholeBodyNothingKept(const std::string &response, const std::string &blob,
                               const ProxyFixture &proxy, const std::string &digest,
                               ScriptedUpstream &upstream) {
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(response).size() == blob.size());
  CHECK(exact(body(response), blob));
  CHECK_FALSE(indexed(proxy, digest));
  CHECK(eventually([&] { return nothingStored(proxy, digest); }));
  CHECK(upstream.requests().size() == 1);
}

TEST_CASE("a client that fell behind gets the whole body when the store fails its appends",
          "[cache][fill][rescue]") {
  const std::string blob = makeBlob();
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  std::atomic<bool> release{false};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    sendInTwo(reply, digest, blob, kFirstPart, release);
  });
  std::shared_ptr<FaultyBlobStore> store;
  auto proxy = proxyOver(store);
  CacheLog log;
  std::string received;
  auto client = stalledClient(proxy->port(), upstream.port(), digest, received);
  REQUIRE(received.rfind("HTTP/1.1 200", 0) == 0);
  // The fill stores the first part while the client reads nothing: it is far behind.
  REQUIRE(eventually([&] { return store->appendedBytes.load() >= kFirstPart; }));
  store->failAppends = true; // the disk is full from here on
  release = true;

  std::string response = readRest(client, received);
  checkWholeBodyNothingKept(response, blob, *proxy, digest, upstream);
  CHECK(log.has("abandoned"));
}

TEST_CASE("a client that fell behind a lagging store gets each byte once when the store fails",
          "[cache][fill][rescue]") {
  const std::string blob = makeBlob();
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  std::atomic<bool> release{false};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    sendInTwo(reply, digest, blob, kFirstPart, release);
  });
  std::shared_ptr<FaultyBlobStore> store;
  auto proxy = proxyOver(store, 64 * 1024);
  store->holdAppends = true; // the store takes nothing yet
  CacheLog log;
  std::string received;
  auto client = stalledClient(proxy->port(), upstream.port(), digest, received, 4096);
  REQUIRE(received.rfind("HTTP/1.1 200", 0) == 0);
  // The fill reads until what it handed the store reaches its bound (4 MiB), sending it to the
  // client live until the client's socket and output are full: the client falls behind at a byte
  // the store has not taken.
  REQUIRE(eventually([&] { return upstream.bytesSent() >= (4u << 20); }));
  std::this_thread::sleep_for(300ms);
  REQUIRE(store->appendedBytes.load() == 0);
  store->failAppends = true; // the disk was full all along
  store->releaseAppends();
  release = true;

  std::string response = readRest(client, received);
  checkWholeBodyNothingKept(response, blob, *proxy, digest, upstream);
  CHECK(log.has("abandoned"));
}

TEST_CASE("a client that fell behind gets the whole body when the store fails the commit",
          "[cache][fill][rescue]") {
  const std::string blob = makeBlob();
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  std::atomic<bool> release{true};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    sendInTwo(reply, digest, blob, blob.size(), release);
  });
  std::shared_ptr<FaultyBlobStore> store;
  auto proxy = proxyOver(store);
  store->failCommits = true; // every append is stored; the commit fails (kIo)
  CacheLog log;
  std::string received;
  auto client = stalledClient(proxy->port(), upstream.port(), digest, received);
  REQUIRE(received.rfind("HTTP/1.1 200", 0) == 0);
  // The whole body is stored, and the commit asked for, while the client reads nothing.
  REQUIRE(eventually([&] { return store->commits.load() >= 1; }, 400));
  CHECK(eventually([&] { return store->appendedBytes.load() == blob.size(); }));

  std::string response = readRest(client, received);
  checkWholeBodyNothingKept(response, blob, *proxy, digest, upstream);
  CHECK(log.has("could not make the blob durable"));
}

TEST_CASE("a client that leaves while it recovers from a store failure harms nothing",
          "[cache][fill][rescue]") {
  const std::string blob = makeBlob();
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  std::atomic<bool> release{false};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    sendInTwo(reply, digest, blob, kFirstPart, release);
  });
  std::shared_ptr<FaultyBlobStore> store;
  auto proxy = proxyOver(store);
  {
    std::string received;
    auto client = stalledClient(proxy->port(), upstream.port(), digest, received);
    REQUIRE(received.rfind("HTTP/1.1 200", 0) == 0);
    REQUIRE(eventually([&] { return store->appendedBytes.load() >= kFirstPart; }));
    store->failAppends = true;
    release = true;
    // It reads past what the socket buffers held at the failure, so from the failed write, then
    // leaves mid-way through what the store took.
    constexpr std::size_t kLeaveAt = 12u << 20;
    std::string part = client.readUntil(
        [&](const std::string &s) { return bodyBytes(received, s) >= kLeaveAt; }, 10000ms);
    REQUIRE(bodyBytes(received, part) >= kLeaveAt);
    REQUIRE(bodyBytes(received, part) < kFirstPart);
  }
  CHECK(eventually([&] { return nothingStored(*proxy, digest); }));
  // The proxy lives on: the next pull fills anew and is stored.
  store->failAppends = false;
  auto next = RawSocket::connectTo(proxy->port());
  next.sendAll(blobGet(upstream.port(), digest));
  std::string response = next.readResponse(30000ms);
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(exact(body(response), blob));
  CHECK(eventually([&] { return indexed(*proxy, digest); }));
}

TEST_CASE("a client that fell behind gets the whole body when the disk's own commit fails",
          "[cache][fill][rescue]") {
  // The real store verifies the bytes, then cannot rename them into place: a directory is in
  // the way (as a failing fsync or rename on a bad disk).
  const std::string blob = makeBlob();
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  std::atomic<bool> release{true};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    sendInTwo(reply, digest, blob, blob.size(), release);
  });
  ProxyFixture proxy;
  std::string hex = digest.substr(7);
  auto inTheWay = proxy.dataDir() / "blobs" / "sha256" / hex.substr(0, 2) / hex;
  std::filesystem::create_directories(inTheWay / "occupied");
  CacheLog log;
  std::string received;
  auto client = stalledClient(proxy.port(), upstream.port(), digest, received);
  REQUIRE(received.rfind("HTTP/1.1 200", 0) == 0);
  REQUIRE(eventually([&] { return log.has("cannot store"); }, 400));

  std::string response = readRest(client, received);
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(response).size() == blob.size());
  CHECK(exact(body(response), blob));
  CHECK_FALSE(indexed(proxy, digest));
  std::error_code ec;
  CHECK(eventually([&] { return std::filesystem::is_empty(proxy.dataDir() / "tmp", ec); }));
}
