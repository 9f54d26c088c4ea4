#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

#include <sqlite3.h>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "cache/index.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;

namespace {

const std::string kBlob = std::string(300000, 'b') + "end";
const std::string kDigest = "sha256:" + regcache::sha256Hex(kBlob);

std::string blobGet(uint16_t port, const std::string &method = "GET",
                    const std::string &extra = "") {
  return method + " http://127.0.0.1:" + std::to_string(port) + "/v2/library/test/blobs/" +
         kDigest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

// An upstream that answers blob GETs with `content`, counting them.
ScriptedUpstream blobUpstream(const std::string &content) {
  return ScriptedUpstream([content](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(
        content,
        "Content-Type: application/octet-stream\r\nDocker-Content-Digest: " + kDigest + "\r\n"));
  });
}

} // namespace

TEST_CASE("a blob by digest is fetched once, then served from disk", "[cache][integration]") {
  auto upstream = blobUpstream(kBlob);
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(blobGet(upstream.port()));
  std::string first = client.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(first.find("X-Cache: MISS") != std::string::npos);
  CHECK(body(first) == kBlob);

  client.sendAll(blobGet(upstream.port()));
  std::string second = client.readResponse();
  REQUIRE(second.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(second.find("X-Cache: HIT") != std::string::npos);
  CHECK(second.find("Docker-Content-Digest: " + kDigest) != std::string::npos);
  CHECK(second.find("Content-Type: application/octet-stream") != std::string::npos);
  CHECK(body(second) == kBlob);
  CHECK(upstream.requests().size() == 1);
}

TEST_CASE("cached blobs answer HEAD and ranges without upstream", "[cache][integration]") {
  auto upstream = blobUpstream(kBlob);
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(blobGet(upstream.port()));
  REQUIRE(body(client.readResponse()) == kBlob);

  client.sendAll(blobGet(upstream.port(), "HEAD"));
  std::string head = client.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  CHECK(head.find("Content-Length: " + std::to_string(kBlob.size())) != std::string::npos);
  CHECK(head.find("X-Cache: HIT") != std::string::npos);

  client.sendAll(blobGet(upstream.port(), "GET", "Range: bytes=-3\r\n"));
  std::string tail = client.readResponse();
  CHECK(tail.rfind("HTTP/1.1 206", 0) == 0);
  CHECK(body(tail) == "end");
  client.sendAll(blobGet(upstream.port(), "GET", "Range: bytes=999999-\r\n"));
  CHECK(client.readResponse().rfind("HTTP/1.1 416", 0) == 0);
  CHECK(upstream.requests().size() == 1);
}

TEST_CASE("a lying upstream never gives the client a complete body, and nothing is cached",
          "[cache][integration]") {
  std::string lie = kBlob;
  lie[1000] = 'X'; // same length, wrong bytes
  auto liar = blobUpstream(lie);
  ProxyFixture proxy;
  {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(blobGet(liar.port()));
    std::string received = client.readAll(5000ms);
    CHECK(received.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(responseLength(received) == 0); // cut short before the end
  }
  // Nothing was kept: the next request goes upstream again.
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(blobGet(liar.port()));
  client.readAll(5000ms);
  CHECK(liar.requests().size() == 2);
}

TEST_CASE("with --no-cache everything passes through", "[cache][integration]") {
  auto upstream = blobUpstream(kBlob);
  ProxyFixture proxy([](auto &o) { o.cacheEnabled = false; });
  auto client = RawSocket::connectTo(proxy.port());
  for (int i = 0; i < 2; ++i) {
    client.sendAll(blobGet(upstream.port()));
    CHECK(body(client.readResponse()) == kBlob);
  }
  CHECK(upstream.requests().size() == 2);
}

TEST_CASE("a redirected blob GET is followed, served as 200 and cached by digest",
          "[cache][integration]") {
  auto cdn = ScriptedUpstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(kBlob, "Content-Type: application/octet-stream\r\n"));
  });
  uint16_t cdnPort = cdn.port();
  auto registry = ScriptedUpstream([cdnPort](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:" + std::to_string(cdnPort) +
        "/presigned/blob?X-Amz-Signature=abc\r\nContent-Length: 0\r\n\r\n");
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(blobGet(registry.port()));
  std::string first = client.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(first) == kBlob);
  REQUIRE(cdn.requests().size() == 1);
  CHECK(cdn.requests()[0].requestLine() == "GET /presigned/blob?X-Amz-Signature=abc HTTP/1.1");

  client.sendAll(blobGet(registry.port()));
  std::string second = client.readResponse();
  CHECK(second.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(second) == kBlob);
  CHECK(registry.requests().size() == 1);
  CHECK(cdn.requests().size() == 1);
}

TEST_CASE("a client's Authorization never follows a redirect from https to http on the same port",
          "[cache][integration]") {
  // The registry is https://127.0.0.1:P; it sends the blob on to http://127.0.0.1:P, where anyone
  // on the path reads what the proxy sends in the clear.
  std::atomic<uint16_t> tlsPort{0};
  auto registry = ScriptedUpstream([&tlsPort](const RecordedRequest &, UpstreamReply &reply) {
    reply.send("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:" +
               std::to_string(tlsPort.load()) +
               "/presigned/blob?sig=abc\r\nContent-Length: 0\r\n\r\n");
  });
  TlsFront tls(registry.port());
  tlsPort = tls.port();
  ProxyFixture proxy([&](auto &o) { o.upstreamCaFiles = {tls.caFile()}; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET https://127.0.0.1:" + std::to_string(tls.port()) + "/v2/library/test/blobs/" +
                 kDigest +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer client-secret\r\n\r\n");
  (void)client.readResponse(); // the cleartext port answers nothing a client could use
  REQUIRE(registry.requests().size() == 1);
  CHECK(registry.requests()[0].hasHeaderLine("Authorization: Bearer client-secret"));
  std::string cleartext = tls.cleartextReceived();
  CHECK(cleartext.find("GET /presigned/blob?sig=abc HTTP/1.1") != std::string::npos);
  INFO(cleartext);
  CHECK(cleartext.find("client-secret") == std::string::npos);
}

namespace {
// Sends the blob in slices with pauses, so concurrent requests overlap the fill.
ScriptedUpstream slowBlobUpstream(const std::string &content) {
  return ScriptedUpstream([content](const RecordedRequest &, UpstreamReply &reply) {
    if (!reply.send(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
            std::to_string(content.size()) + "\r\n\r\n")) {
      return;
    }
    for (std::size_t offset = 0; offset < content.size(); offset += 50000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
      if (!reply.send(content.substr(offset, 50000))) return;
    }
  });
}
} // namespace

TEST_CASE("concurrent misses for one digest make exactly one upstream fetch",
          "[cache][integration]") {
  auto upstream = slowBlobUpstream(kBlob);
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  std::vector<std::string> bodies(6);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30 * i)); // late joiners too
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(blobGet(upstream.port()));
      bodies[i] = body(client.readResponse(10000ms));
    });
  }
  for (auto &c : clients)
    c.join();
  for (const auto &b : bodies)
    CHECK(b == kBlob);
  CHECK(upstream.requests().size() == 1);
}

TEST_CASE("with every store read on the I/O threads, hits, ranges and followers get their bytes",
          "[cache][integration][store]") {
  auto upstream = slowBlobUpstream(kBlob);
  ProxyFixture proxy([](auto &o) {
    o.workers = 2;
    o.storeReadsOnLoop = false; // tryReadNow always "would block": read() on the pool
  });
  std::vector<std::string> bodies(4);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30 * i)); // followers of the fill
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(blobGet(upstream.port()));
      bodies[i] = body(client.readResponse(10000ms));
    });
  }
  for (auto &c : clients)
    c.join();
  for (const auto &b : bodies)
    CHECK(b == kBlob);
  auto client = RawSocket::connectTo(proxy.port());
  for (int i = 0; i < 3; ++i) { // hits on one keep-alive connection
    client.sendAll(blobGet(upstream.port()));
    std::string hit = client.readResponse(10000ms);
    CHECK(hit.find("X-Cache: HIT") != std::string::npos);
    CHECK(body(hit) == kBlob);
  }
  client.sendAll(blobGet(upstream.port(), "GET", "Range: bytes=299990-\r\n"));
  std::string partial = client.readResponse(10000ms);
  CHECK(partial.rfind("HTTP/1.1 206", 0) == 0);
  CHECK(body(partial) == kBlob.substr(299990));
  CHECK(upstream.requests().size() == 1);
}

TEST_CASE("a fill goes on when its client leaves: followers finish and the blob is cached",
          "[cache][integration]") {
  auto upstream = slowBlobUpstream(kBlob);
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  auto leader = RawSocket::connectTo(proxy.port());
  leader.sendAll(blobGet(upstream.port()));
  std::string started = leader.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(started.rfind("HTTP/1.1 200", 0) == 0);
  auto follower = RawSocket::connectTo(proxy.port());
  follower.sendAll(blobGet(upstream.port()));
  std::this_thread::sleep_for(50ms); // the follower has joined the fill
  leader.close();
  CHECK(body(follower.readResponse(10000ms)) == kBlob);

  auto later = RawSocket::connectTo(proxy.port());
  later.sendAll(blobGet(upstream.port()));
  std::string hit = later.readResponse();
  CHECK(hit.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(hit) == kBlob);
  CHECK(upstream.requests().size() == 1);
}

TEST_CASE("a fill whose only client left is still committed", "[cache][integration]") {
  auto upstream = slowBlobUpstream(kBlob);
  ProxyFixture proxy;
  {
    auto leaver = RawSocket::connectTo(proxy.port());
    leaver.sendAll(blobGet(upstream.port()));
    leaver.readUntil([](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  }
  std::string last;
  for (int attempt = 0; attempt < 50; ++attempt) { // the fill takes about 0.3 s
    // Only the index is asked: a blob not cached yet would be a HEAD passed upstream.
    proxy.flushIndex();
    auto index = regcache::cache::Index::open(proxy.dataDir() / "cache.db");
    REQUIRE(index.ok());
    auto found = index.value()->findBlob(kDigest);
    if (found.ok() && found.value()) break;
    std::this_thread::sleep_for(100ms);
  }
  {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(blobGet(upstream.port()));
    last = client.readResponse();
  }
  CHECK(last.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(last) == kBlob);
  CHECK(upstream.requests().size() == 1);
}

TEST_CASE("followers of a lying fill never get a complete body", "[cache][integration]") {
  std::string lie = kBlob;
  lie[10] = 'X';
  auto liar = slowBlobUpstream(lie);
  ProxyFixture proxy;
  std::vector<std::string> received(3);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < received.size(); ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * i));
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(blobGet(liar.port()));
      received[i] = client.readAll(5000ms);
    });
  }
  for (auto &c : clients)
    c.join();
  for (const auto &r : received)
    CHECK(responseLength(r) == 0);
  CHECK(liar.requests().size() == 1);
}

TEST_CASE("when the leader gets no blob, followers fetch on their own", "[cache][integration]") {
  auto upstream = ScriptedUpstream([](const RecordedRequest &, UpstreamReply &reply) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    reply.send("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
  });
  ProxyFixture proxy;
  std::vector<std::string> responses(2);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * i));
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(blobGet(upstream.port()));
      responses[i] = client.readResponse(5000ms);
    });
  }
  for (auto &c : clients)
    c.join();
  for (const auto &r : responses)
    CHECK(r.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(upstream.requests().size() == 2);
}

namespace {

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
const std::string kManifestDigest = "sha256:" + regcache::sha256Hex(kManifest);
const std::string kManifestType = "application/vnd.oci.image.manifest.v1+json";

std::string tagGet(uint16_t port, const std::string &method = "GET") {
  return method + " http://127.0.0.1:" + std::to_string(port) +
         "/v2/library/test/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: " + kManifestType +
         "\r\n\r\n";
}

// Serves `manifest` by tag (a HEAD gets its head alone) until `failWith` is set, then answers
// with that status.
struct TagUpstream {
  std::atomic<int> failWith{0};
  std::mutex mutex;
  std::string manifest = kManifest;
  ScriptedUpstream server{[this](const RecordedRequest &request, UpstreamReply &reply) {
    if (int status = failWith.load()) {
      reply.send("HTTP/1.1 " + std::to_string(status) + " Nope\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    std::string current;
    {
      std::lock_guard lock(mutex);
      current = manifest;
    }
    std::string response = okResponse(
        current, "Content-Type: " + kManifestType +
                     "\r\nDocker-Content-Digest: sha256:" + regcache::sha256Hex(current) + "\r\n");
    if (request.requestLine().rfind("HEAD ", 0) == 0) {
      response.resize(response.find("\r\n\r\n") + 4);
    }
    reply.send(response);
  }};
  std::vector<std::string> methods() const {
    std::vector<std::string> out;
    for (const auto &r : server.requests())
      out.push_back(r.requestLine().substr(0, r.requestLine().find(' ')));
    return out;
  }
};

} // namespace

TEST_CASE("a manifest by tag is served from the cache within the tag TTL", "[cache][tags]") {
  TagUpstream upstream;
  ProxyFixture proxy([](auto &o) { o.tagTtl = std::chrono::minutes(5); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(tagGet(upstream.server.port()));
  REQUIRE(body(client.readResponse()) == kManifest);
  client.sendAll(tagGet(upstream.server.port()));
  std::string second = client.readResponse();
  CHECK(second.find("X-Cache: HIT") != std::string::npos);
  CHECK(second.find("Content-Type: " + kManifestType) != std::string::npos);
  CHECK(second.find("Docker-Content-Digest: " + kManifestDigest) != std::string::npos);
  CHECK(body(second) == kManifest);
  CHECK(upstream.server.requests().size() == 1);
}

TEST_CASE("an expired tag is revalidated with a HEAD, and served stale when upstream fails",
          "[cache][tags]") {
  TagUpstream upstream;
  ProxyFixture proxy([](auto &o) { o.tagTtl = std::chrono::milliseconds(0); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(tagGet(upstream.server.port()));
  REQUIRE(body(client.readResponse()) == kManifest);
  client.sendAll(tagGet(upstream.server.port())); // expired: asks upstream with a HEAD
  std::string revalidated = client.readResponse();
  CHECK(revalidated.find("X-Cache: REVALIDATED") != std::string::npos);
  CHECK(revalidated.find("Docker-Content-Digest: " + kManifestDigest) != std::string::npos);
  CHECK(body(revalidated) == kManifest);
  CHECK(upstream.methods() == std::vector<std::string>{"GET", "HEAD"});
  const auto revalidation = upstream.server.requests().back();
  CHECK(revalidation.hasHeaderLine("Accept: " + kManifestType));

  for (int status : {503, 429}) {
    upstream.failWith = status;
    client.sendAll(tagGet(upstream.server.port()));
    std::string stale = client.readResponse();
    INFO(status);
    CHECK(stale.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(stale.find("X-Cache: STALE") != std::string::npos);
    CHECK(body(stale) == kManifest);
  }
}

TEST_CASE("an expired tag whose digest changed upstream is fetched again", "[cache][tags]") {
  TagUpstream upstream;
  ProxyFixture proxy([](auto &o) { o.tagTtl = std::chrono::milliseconds(0); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(tagGet(upstream.server.port()));
  REQUIRE(body(client.readResponse()) == kManifest);
  const std::string updated = kManifest.substr(0, kManifest.size() - 1) + R"(,"annotations":{}})";
  {
    std::lock_guard lock(upstream.mutex);
    upstream.manifest = updated;
  }
  client.sendAll(tagGet(upstream.server.port()));
  std::string second = client.readResponse();
  CHECK(second.find("X-Cache: MISS") != std::string::npos);
  CHECK(body(second) == updated);
  CHECK(upstream.methods() == std::vector<std::string>{"GET", "HEAD", "GET"});
  // The new digest is what the tag now maps to: the next check finds it unchanged.
  client.sendAll(tagGet(upstream.server.port()));
  std::string third = client.readResponse();
  CHECK(third.find("X-Cache: REVALIDATED") != std::string::npos);
  CHECK(body(third) == updated);
  CHECK(upstream.methods().size() == 4);
}

TEST_CASE("a client HEAD of an expired tag is passed on and confirms the tag", "[cache][tags]") {
  TagUpstream upstream;
  ProxyFixture proxy([](auto &o) { o.tagTtl = std::chrono::milliseconds(0); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(tagGet(upstream.server.port()));
  REQUIRE(body(client.readResponse()) == kManifest);
  client.sendAll(tagGet(upstream.server.port(), "HEAD"));
  std::string head = client.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  CHECK(head.find("X-Cache: REVALIDATED") != std::string::npos);
  CHECK(head.find("Docker-Content-Digest: " + kManifestDigest) != std::string::npos);
  CHECK(upstream.methods() == std::vector<std::string>{"GET", "HEAD"});
}

TEST_CASE("a tag is served stale when upstream is unreachable", "[cache][tags]") {
  uint16_t port = 0;
  std::unique_ptr<ProxyFixture> proxy;
  {
    TagUpstream upstream;
    port = upstream.server.port();
    proxy =
        std::make_unique<ProxyFixture>([](auto &o) { o.tagTtl = std::chrono::milliseconds(0); });
    auto client = RawSocket::connectTo(proxy->port());
    client.sendAll(tagGet(port));
    REQUIRE(body(client.readResponse()) == kManifest);
  } // the upstream is gone
  auto client = RawSocket::connectTo(proxy->port());
  client.sendAll(tagGet(port));
  std::string stale = client.readResponse();
  CHECK(stale.find("X-Cache: STALE") != std::string::npos);
  CHECK(body(stale) == kManifest);
  client.sendAll(tagGet(port, "HEAD"));
  std::string head = client.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  CHECK(head.find("Docker-Content-Digest: " + kManifestDigest) != std::string::npos);
}

TEST_CASE("a tag learned from a HEAD, with the manifest pulled by digest, survives an outage",
          "[cache][tags]") {
  // dockerd's way: HEAD the tag for its digest, then GET the manifest by digest.
  TagUpstream upstream;
  ProxyFixture proxy([](auto &o) { o.tagTtl = std::chrono::milliseconds(0); });
  auto client = RawSocket::connectTo(proxy.port());
  auto headOnly = [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; };
  client.sendAll(tagGet(upstream.server.port(), "HEAD"));
  REQUIRE(client.readUntil(headOnly).rfind("HTTP/1.1 200", 0) == 0);
  client.sendAll("GET http://127.0.0.1:" + std::to_string(upstream.server.port()) +
                 "/v2/library/test/manifests/" + kManifestDigest +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: " + kManifestType + "\r\n\r\n");
  REQUIRE(body(client.readResponse()) == kManifest);

  upstream.failWith = 503;
  client.sendAll(tagGet(upstream.server.port(), "HEAD"));
  std::string head = client.readUntil(headOnly);
  CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(head.find("X-Cache: STALE") != std::string::npos);
  CHECK(head.find("Docker-Content-Digest: " + kManifestDigest) != std::string::npos);
  CHECK(head.find("Content-Type: " + kManifestType) != std::string::npos);
  client.sendAll(tagGet(upstream.server.port()));
  std::string stale = client.readResponse();
  CHECK(stale.find("X-Cache: STALE") != std::string::npos);
  CHECK(body(stale) == kManifest);
}

TEST_CASE("a tag whose body does not match its announced digest is not cached", "[cache][tags]") {
  ScriptedUpstream liar([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(kManifest + " ", "Content-Type: " + kManifestType +
                                               "\r\nDocker-Content-Digest: " + kManifestDigest +
                                               "\r\n"));
  });
  ProxyFixture proxy;
  for (int i = 0; i < 2; ++i) {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(tagGet(liar.port()));
    CHECK(responseLength(client.readAll(3000ms)) == 0);
  }
  CHECK(liar.requests().size() == 2);
}

TEST_CASE("bytes first fetched as a blob are served as a manifest with a manifest media type",
          "[cache][tags]") {
  // A registry serves anything under /blobs/ as octet-stream, manifests included.
  ScriptedUpstream upstream([](const RecordedRequest &request, UpstreamReply &reply) {
    bool manifest = request.requestLine().find("/manifests/") != std::string::npos;
    std::string response = okResponse(
        kManifest,
        "Content-Type: " + (manifest ? kManifestType : std::string("application/octet-stream")) +
            "\r\nDocker-Content-Digest: " + kManifestDigest + "\r\n");
    if (request.requestLine().rfind("HEAD ", 0) == 0) {
      response.resize(response.find("\r\n\r\n") + 4);
    }
    reply.send(response);
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  const std::string base =
      "http://127.0.0.1:" + std::to_string(upstream.port()) + "/v2/library/test/";
  client.sendAll("GET " + base + "blobs/" + kManifestDigest +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string asBlob = client.readResponse();
  REQUIRE(body(asBlob) == kManifest);
  CHECK(asBlob.find("Content-Type: application/octet-stream") != std::string::npos);

  for (const std::string method : {"GET", "HEAD"}) {
    INFO(method);
    client.sendAll(method + " " + base + "manifests/" + kManifestDigest +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: " + kManifestType + "\r\n\r\n");
    std::string asManifest =
        method == "GET" ? client.readResponse() : client.readUntil([](const std::string &s) {
          return s.find("\r\n\r\n") != std::string::npos;
        });
    CHECK(asManifest.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(asManifest.find("Content-Type: " + kManifestType + "\r\n") != std::string::npos);
    CHECK(asManifest.find("Docker-Content-Digest: " + kManifestDigest) != std::string::npos);
    if (method == "GET") CHECK(body(asManifest) == kManifest);
  }
}

TEST_CASE("a fill led at a stalling registry does not hold up clients of another registry",
          "[cache][integration][isolation]") {
  std::atomic<bool> release{false};
  // Sends the head and a first slice, then nothing until the test ends.
  ScriptedUpstream staller([&release](const RecordedRequest &, UpstreamReply &reply) {
    if (!reply.send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: " +
                    std::to_string(kBlob.size()) + "\r\n\r\n" + kBlob.substr(0, 1000))) {
      return;
    }
    for (int i = 0; i < 1000 && !release; ++i)
      std::this_thread::sleep_for(10ms);
  });
  auto registry = blobUpstream(kBlob);
  ProxyFixture proxy([](auto &o) { o.workers = 2; });
  auto leader = RawSocket::connectTo(proxy.port());
  leader.sendAll(blobGet(staller.port()));
  REQUIRE(
      leader.readUntil([](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; })
          .rfind("HTTP/1.1 200", 0) == 0);

  auto other = RawSocket::connectTo(proxy.port());
  other.sendAll(blobGet(registry.port()));
  std::string response = other.readResponse(3000ms);
  bool complete = body(response) == kBlob; // not hung on the other registry's fill
  CHECK(complete);
  CHECK(response.find("X-Cache: MISS") != std::string::npos);
  CHECK(registry.requests().size() == 1); // its own fetch
  release = true;
}

TEST_CASE("GET /v2/_catalog on the proxy lists cached repositories", "[cache][integration]") {
  auto upstream = blobUpstream(kBlob);
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /v2/_catalog HTTP/1.1\r\nHost: proxy\r\n\r\n");
  CHECK(body(client.readResponse()) == "{\"repositories\":[]}\n");
  client.sendAll(blobGet(upstream.port()));
  REQUIRE(body(client.readResponse()) == kBlob);
  client.sendAll("GET /v2/_catalog HTTP/1.1\r\nHost: proxy\r\n\r\n");
  CHECK(body(client.readResponse()) == "{\"repositories\":[\"http://127.0.0.1:" +
                                           std::to_string(upstream.port()) + "/library/test\"]}\n");
}

TEST_CASE("start-up removes unindexed files and rows without files", "[cache][integration]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("regcache-reconcile-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string orphan = "orphan content";
  auto orphanDigest = *regcache::oci::parseDigest("sha256:" + regcache::sha256Hex(orphan));
  {
    regcache::cache::FileBlobStore store(dir);
    REQUIRE(regcache::cache::putNow(store, orphanDigest, orphan).ok());
    auto index = regcache::cache::Index::open(dir / "cache.db");
    REQUIRE(index.ok());
    auto now = std::chrono::system_clock::now();
    REQUIRE(index.value()
                ->putBlob({kDigest, kBlob.size(), "", false, now, now, 0}, "r.test", "library/test")
                .ok());
  }
  {
    ProxyFixture proxy([&](auto &o) { o.dataDir = dir; });
    regcache::cache::FileBlobStore store(dir);
    CHECK_FALSE(regcache::cache::statNow(store, orphanDigest).ok());
    auto index = regcache::cache::Index::open(dir / "cache.db");
    REQUIRE(index.ok());
    CHECK_FALSE(index.value()->findBlob(kDigest).value().has_value());
  }
  fs::remove_all(dir);
}

TEST_CASE("past --cache-max-size the least recently used blobs are evicted",
          "[cache][integration][eviction]") {
  std::map<std::string, std::string> blobs;
  for (char fill : {'a', 'b', 'c'}) {
    std::string content(300000, fill);
    blobs["sha256:" + regcache::sha256Hex(content)] = content;
  }
  std::mutex mutex;
  std::map<std::string, int> fetches;
  ScriptedUpstream upstream([&](const RecordedRequest &request, UpstreamReply &reply) {
    std::string line = request.requestLine();
    std::string digest = line.substr(line.find("sha256:"), 71);
    {
      std::lock_guard lock(mutex);
      ++fetches[digest];
    }
    reply.send(okResponse(blobs.at(digest)));
  });
  ProxyFixture proxy([](auto &o) {
    o.cacheMaxSize = 700000;
    o.evictionInterval = std::chrono::milliseconds(50);
  });
  auto get = [&](const std::string &digest) {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("GET http://127.0.0.1:" + std::to_string(upstream.port()) +
                   "/v2/library/test/blobs/" + digest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    return client.readResponse();
  };
  std::vector<std::string> order;
  for (const auto &[digest, content] : blobs)
    order.push_back(digest);
  for (const auto &digest : order) {
    REQUIRE(body(get(digest)) == blobs[digest]);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100)); // distinct access seconds
  }
  // The oldest is gone (fetched again), the newest is still a hit.
  std::string newest = get(order[2]);
  CHECK(newest.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(get(order[0])) == blobs[order[0]]);
  std::lock_guard lock(mutex);
  CHECK(fetches[order[0]] == 2);
  CHECK(fetches[order[2]] == 1);
}

TEST_CASE("GET /metrics counts misses, hits, bytes and the upstream's rate limit",
          "[cache][metrics]") {
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(kBlob, "Content-Type: application/octet-stream\r\n"
                                 "Docker-Content-Digest: " +
                                     kDigest + "\r\nRateLimit-Remaining: 97;w=21600\r\n"));
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  for (int i = 0; i < 3; ++i) {
    client.sendAll(blobGet(upstream.port()));
    REQUIRE(body(client.readResponse()) == kBlob);
  }
  client.sendAll("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string metrics = client.readResponse();
  INFO(metrics);
  REQUIRE(metrics.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(metrics.find("regcache_requests_total{route=\"blob\",outcome=\"miss\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.find("regcache_requests_total{route=\"blob\",outcome=\"hit\"} 2\n") !=
        std::string::npos);
  CHECK(metrics.find("regcache_served_bytes_total{source=\"cache\"} " +
                     std::to_string(2 * kBlob.size()) + "\n") != std::string::npos);
  CHECK(metrics.find("regcache_served_bytes_total{source=\"upstream\"} " +
                     std::to_string(kBlob.size()) + "\n") != std::string::npos);
  CHECK(metrics.find("regcache_upstream_ratelimit_remaining{registry=\"127.0.0.1:" +
                     std::to_string(upstream.port()) + "\"} 97\n") != std::string::npos);
  CHECK(metrics.find("regcache_fills_in_flight 0\n") != std::string::npos);
  CHECK(metrics.find("regcache_cache_blobs 1\n") != std::string::npos);
}

TEST_CASE("/metrics counts upstream errors by kind", "[cache][metrics]") {
  ScriptedUpstream unavailable([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(blobGet(unavailable.port()));
  REQUIRE(client.readResponse().rfind("HTTP/1.1 503", 0) == 0);
  client.sendAll("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string metrics = client.readResponse();
  CHECK(metrics.find("regcache_upstream_errors_total{kind=\"status_5xx\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.find("regcache_requests_total{route=\"blob\",outcome=\"error\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("hits, misses and bytes by source are saved in the index at shutdown",
          "[cache][metrics]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("regcache-counters-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto upstream = blobUpstream(kBlob);
  for (int run = 0; run < 2; ++run) { // the second run adds to what the first saved
    ProxyFixture proxy([&](auto &o) { o.dataDir = dir; });
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(blobGet(upstream.port()));
    REQUIRE(body(client.readResponse()) == kBlob);
  }
  auto index = regcache::cache::Index::open(dir / "cache.db");
  REQUIRE(index.ok());
  auto counters = index.value()->counters();
  REQUIRE(counters.ok());
  using Counters = std::map<std::string, std::uint64_t>;
  CHECK(counters.value() == Counters{{regcache::cache::kCounterCacheHits, 1},
                                     {regcache::cache::kCounterCacheMisses, 1},
                                     {regcache::cache::kCounterBytesFromCache, kBlob.size()},
                                     {regcache::cache::kCounterBytesFromUpstream, kBlob.size()}});
  fs::remove_all(dir);
}

TEST_CASE("a 5xx or 429 to the /v2/ ping is answered by the proxy, other statuses pass",
          "[cache][integration]") {
  std::atomic<int> status{503};
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    reply.send("HTTP/1.1 " + std::to_string(status.load()) + " X\r\nContent-Length: 4\r\n\r\nnope");
  });
  ProxyFixture proxy;
  for (int answer : {503, 429, 401}) {
    status = answer;
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("GET http://127.0.0.1:" + std::to_string(upstream.port()) +
                   "/v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    std::string response = client.readResponse();
    INFO(answer);
    if (answer == 401) {
      CHECK(response.rfind("HTTP/1.1 401", 0) == 0);
    } else {
      CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
      CHECK(response.find("X-Cache: STALE") != std::string::npos);
      CHECK(body(response) == "{}");
    }
  }
}

TEST_CASE("a busy index does not stall the loop: a hit is answered at once", "[cache][sqlite]") {
  auto upstream = blobUpstream(kBlob);
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(blobGet(upstream.port()));
  REQUIRE(client.readResponse().rfind("HTTP/1.1 200", 0) == 0);

  // Another process (a `regcache cache` command, a backup) holds the write lock on cache.db.
  sqlite3 *raw = nullptr;
  REQUIRE(sqlite3_open((proxy.dataDir() / "cache.db").c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> other(raw, &sqlite3_close);
  REQUIRE(sqlite3_exec(other.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  auto started = std::chrono::steady_clock::now();
  client.sendAll(blobGet(upstream.port()));
  std::string hit = client.readResponse();
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(hit.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(hit) == kBlob);
  // The hit count is the write that waits for the lock: skipped, not waited out for 5 s.
  CHECK(took < std::chrono::seconds(1));
  REQUIRE(sqlite3_exec(other.get(), "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
}
