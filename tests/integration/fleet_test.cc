// A fleet in one process: two proxies with their own data dirs and indexes, one shared store
// (a FileBlobStore standing in for the bucket, behind the fault-injecting wrapper). What one
// host fetched, the other serves from the bucket after upstream's own yes to a HEAD, never with
// an upstream GET; the bucket never decides who may read, and a bucket that is down or lies
// never fails a pull.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "cache/blob_store_sync.h"
#include "cache/file_blob_store.h"
#include "faulty_blob_store.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "temp_dir.h"

using namespace regcache::test;
using regcache::sha256Hex;
using regcache::cache::FileBlobStore;
using regcache::cache::parseDigest;

namespace {

const std::string kLayer = std::string(300000, 'L') + "end";
const std::string kLayerDigest = "sha256:" + sha256Hex(kLayer);
const std::string kGood = "Authorization: Basic Z29vZDp0b2tlbg==\r\n";

std::string layerGet(uint16_t port, const std::string &repository, const std::string &extra = "") {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/v2/" + repository + "/blobs/" +
         kLayerDigest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

// private/app needs kGood; library/base is public. Both hold kLayer.
ScriptedUpstream registry() {
  return ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    bool isPrivate = request.requestLine().find("/v2/private/app/") != std::string::npos;
    if (isPrivate && !request.hasHeaderLine(kGood.substr(0, kGood.size() - 2))) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\n"
                 "Content-Length: 12\r\n\r\nunauthorized");
      return;
    }
    std::string response = okResponse(
        kLayer, "Content-Type: application/octet-stream\r\nDocker-Content-Digest: " + kLayerDigest +
                    "\r\n");
    if (request.requestLine().rfind("HEAD ", 0) == 0) {
      response.resize(response.find("\r\n\r\n") + 4);
    }
    reply.send(response);
  });
}

// What the proxies asked upstream, method and repository, without the public probe's questions.
std::vector<std::string> asked(const ScriptedUpstream &upstream) {
  std::vector<std::string> lines;
  for (const auto &r : upstream.requests()) {
    if (r.hasHeaderLine("User-Agent: regcache (public probe)")) continue;
    lines.push_back(
        r.requestLine().substr(0, r.requestLine().find(' ')) +
        (r.requestLine().find("/private/") != std::string::npos ? " private" : " public"));
  }
  return lines;
}

struct Fleet {
  TempDir dir;
  std::shared_ptr<FileBlobStore> files = std::make_shared<FileBlobStore>(dir.path());
  std::shared_ptr<FaultyBlobStore> bucket = std::make_shared<FaultyBlobStore>(files);
  std::function<void(regcache::proxy::ServerOptions &)> member(bool servesFromBucket = true) {
    return [this, servesFromBucket](regcache::proxy::ServerOptions &o) {
      o.sharedStoreForTests = bucket;
      if (servesFromBucket) o.storeRegistries = {"*"};
      o.storeTimeout = std::chrono::milliseconds(500);
    };
  }
  // The upload completes behind the fill: wait (bounded) until the bucket has the layer.
  bool holdsLayer() {
    auto digest = *parseDigest(kLayerDigest);
    for (int i = 0; i < 500; ++i) {
      if (regcache::cache::statNow(*files, digest).ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::filesystem::path layerPath() {
    auto digest = *parseDigest(kLayerDigest);
    return dir.path() / "blobs" / "sha256" / digest.hex.substr(0, 2) / digest.hex;
  }
};

bool storedLocally(const ProxyFixture &host) {
  auto hex = kLayerDigest.substr(7);
  return std::filesystem::exists(host.dataDir() / "blobs" / "sha256" / hex.substr(0, 2) / hex);
}

} // namespace

TEST_CASE("fleet: what host A fetched, host B serves from the bucket after upstream's HEAD, "
          "with no upstream GET",
          "[fleet]") {
  auto upstream = registry();
  Fleet fleet;
  ProxyFixture hostA(fleet.member());
  ProxyFixture hostB(fleet.member());
  auto a = RawSocket::connectTo(hostA.port());
  a.sendAll(layerGet(upstream.port(), "library/base"));
  std::string first = a.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(first.find("X-Cache: MISS") != std::string::npos);
  REQUIRE(fleet.holdsLayer());

  auto b = RawSocket::connectTo(hostB.port());
  b.sendAll(layerGet(upstream.port(), "library/base"));
  std::string fromBucket = b.readResponse();
  REQUIRE(fromBucket.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(fromBucket.find("X-Cache: BUCKET") != std::string::npos);
  CHECK(body(fromBucket) == kLayer);
  CHECK(asked(upstream) == std::vector<std::string>{"GET public", "HEAD public"});
  // B keeps it and indexes it with the source upstream confirmed: the next pull is a local hit
  // that asks neither upstream nor the bucket.
  CHECK(storedLocally(hostB));
  hostB.flushIndex();
  int opens = fleet.bucket->opens.load();
  b.sendAll(layerGet(upstream.port(), "library/base"));
  std::string hit = b.readResponse();
  CHECK(hit.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(hit) == kLayer);
  CHECK(asked(upstream).size() == 2);
  CHECK(fleet.bucket->opens.load() == opens);

  // /metrics says where it came from: one verified bucket hit at B, one completed upload at A.
  auto metricsOf = [](const ProxyFixture &host) {
    auto admin = RawSocket::connectTo(host.port());
    admin.sendAll("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    return body(admin.readResponse());
  };
  std::string metricsB = metricsOf(hostB);
  CHECK(metricsB.find("\nregcache_bucket_hits_total 1\n") != std::string::npos);
  CHECK(metricsB.find("\nregcache_bucket_read_bytes_total " + std::to_string(kLayer.size()) +
                      "\n") != std::string::npos);
  CHECK(metricsOf(hostA).find("\nregcache_bucket_uploads_completed_total 1\n") !=
        std::string::npos);
}

TEST_CASE("fleet: the bucket never decides who may read: upstream's own answer does", "[fleet]") {
  auto upstream = registry();
  Fleet fleet;
  ProxyFixture hostA(fleet.member());
  ProxyFixture hostB(fleet.member());
  auto a = RawSocket::connectTo(hostA.port());
  a.sendAll(layerGet(upstream.port(), "private/app", kGood));
  REQUIRE(body(a.readResponse()) == kLayer);
  REQUIRE(fleet.holdsLayer());

  // Anonymous at B: upstream's HEAD says 401, and so does B, with none of the bucket's bytes.
  auto anonymous = RawSocket::connectTo(hostB.port());
  anonymous.sendAll(layerGet(upstream.port(), "private/app"));
  std::string refused = anonymous.readResponse();
  CHECK(refused.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(refused.find(kLayer.substr(0, 100)) == std::string::npos);
  CHECK_FALSE(storedLocally(hostB));

  // With the credential upstream accepts: one HEAD, then the bucket's bytes.
  auto credentialed = RawSocket::connectTo(hostB.port());
  credentialed.sendAll(layerGet(upstream.port(), "private/app", kGood));
  std::string served = credentialed.readResponse();
  CHECK(served.find("X-Cache: BUCKET") != std::string::npos);
  CHECK(body(served) == kLayer);
  auto lines = asked(upstream);
  CHECK(std::count(lines.begin(), lines.end(), "GET private") == 2); // A's, and B's refused one
  CHECK(std::count(lines.begin(), lines.end(), "HEAD private") == 2);
}

TEST_CASE("fleet: with the bucket down, pulls go upstream and succeed", "[fleet]") {
  auto upstream = registry();
  Fleet fleet;
  fleet.bucket->down = true;
  ProxyFixture hostA(fleet.member());
  ProxyFixture hostB(fleet.member());
  for (auto *host : {&hostA, &hostB}) {
    auto client = RawSocket::connectTo(host->port());
    client.sendAll(layerGet(upstream.port(), "library/base"));
    std::string response = client.readResponse();
    CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(body(response) == kLayer);
    CHECK(storedLocally(*host)); // the local tier still caches
  }
  CHECK(asked(upstream) == std::vector<std::string>{"GET public", "GET public"});
}

TEST_CASE("fleet: wrong bytes in the bucket cut the client off, are removed, and the next pull "
          "is right",
          "[fleet]") {
  auto upstream = registry();
  Fleet fleet;
  ProxyFixture hostA(fleet.member());
  ProxyFixture hostB(fleet.member());
  auto a = RawSocket::connectTo(hostA.port());
  a.sendAll(layerGet(upstream.port(), "library/base"));
  REQUIRE(body(a.readResponse()) == kLayer);
  REQUIRE(fleet.holdsLayer());
  std::filesystem::permissions(fleet.layerPath(), std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  {
    std::ofstream(fleet.layerPath(), std::ios::binary | std::ios::trunc)
        << std::string(kLayer.size(), 'X');
  }

  auto b = RawSocket::connectTo(hostB.port());
  b.sendAll(layerGet(upstream.port(), "library/base"));
  std::string cut = b.readAll(5000ms);
  // Cut off: maybe after some of the bucket's bytes, maybe before its head left (the proxy
  // reads faster than the socket sends), never with a complete response.
  CHECK(responseLength(cut) == 0);
  CHECK(cut.find(std::string(kLayer.size(), 'X')) == std::string::npos);
  // Only the reader that found the mismatch removes the object (right after it cut the client
  // off): so it did read the bucket.
  bool removed = false;
  for (int i = 0; i < 500 && !removed; ++i) {
    removed = !std::filesystem::exists(fleet.layerPath());
    if (!removed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(removed);
  CHECK_FALSE(storedLocally(hostB));

  auto again = RawSocket::connectTo(hostB.port());
  again.sendAll(layerGet(upstream.port(), "library/base"));
  std::string right = again.readResponse();
  CHECK(right.find("X-Cache: MISS") != std::string::npos);
  CHECK(body(right) == kLayer);
}

TEST_CASE("fleet: without --store-registries the bucket gets fills but serves no pull", "[fleet]") {
  auto upstream = registry();
  Fleet fleet;
  ProxyFixture hostA(fleet.member(false));
  ProxyFixture hostB(fleet.member(false));
  auto a = RawSocket::connectTo(hostA.port());
  a.sendAll(layerGet(upstream.port(), "library/base"));
  REQUIRE(body(a.readResponse()) == kLayer);
  REQUIRE(fleet.holdsLayer());
  auto b = RawSocket::connectTo(hostB.port());
  b.sendAll(layerGet(upstream.port(), "library/base"));
  std::string response = b.readResponse();
  CHECK(response.find("X-Cache: MISS") != std::string::npos);
  CHECK(asked(upstream) == std::vector<std::string>{"GET public", "GET public"});
}
