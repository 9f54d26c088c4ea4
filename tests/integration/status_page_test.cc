// GET / and GET /status.json: admin only, and the fills, pulls and bytes they report.
#include <catch2/catch.hpp>

#include <sched.h>

#include <atomic>
#include <thread>

#include "base/json_fields.h"
#include "base/oci/digest.h"
#include "base/sha256.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

const std::string kBlob = std::string(300000, 's') + "end";
const std::string kDigest = "sha256:" + regcache::sha256Hex(kBlob);
const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
const std::string kManifestType = "application/vnd.oci.image.manifest.v1+json";

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

// GET of `target`: a proxy path, or an absolute URL (whose host the Host header must name).
std::string get(uint16_t proxyPort, const std::string &target, const char *from = nullptr) {
  auto client = RawSocket::connectTo(proxyPort, from);
  std::string host = "proxy";
  if (auto scheme = target.find("://"); scheme != std::string::npos) {
    host = target.substr(scheme + 3, target.find('/', scheme + 3) - scheme - 3);
  }
  client.sendAll("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: " + kManifestType +
                 "\r\n\r\n");
  return client.readResponse();
}

// This thread, and the threads it makes while this lives, on one CPU.
class OneCpu {
public:
  OneCpu() {
    sched_getaffinity(0, sizeof(saved_), &saved_);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &saved_)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    sched_setaffinity(0, sizeof(one), &one);
  }
  ~OneCpu() { sched_setaffinity(0, sizeof(saved_), &saved_); }
  OneCpu(const OneCpu &) = delete;
  OneCpu &operator=(const OneCpu &) = delete;

private:
  cpu_set_t saved_{};
};

} // namespace

TEST_CASE("the status page and /status.json answer admins only", "[status][integration]") {
  ProxyFixture proxy([](auto &o) { o.adminAllow = {"127.0.0.1/32"}; });
  for (const char *path : {"/", "/status.json"}) {
    INFO(path);
    CHECK(get(proxy.port(), path, "127.0.0.2").rfind("HTTP/1.1 403", 0) == 0);
    std::string admin = get(proxy.port(), path);
    CHECK(admin.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(admin.find("Content-Security-Policy: default-src 'none'") != std::string::npos);
  }
  std::string page = get(proxy.port(), "/");
  CHECK(page.find("Content-Type: text/html") != std::string::npos);
  // Self-contained: no external script, style sheet or font.
  CHECK(page.find("src=\"http") == std::string::npos);
  CHECK(page.find("<link") == std::string::npos);
  CHECK(page.find("\"state\":\"active\"") == std::string::npos); // HTML, not JSON
  CHECK(body(get(proxy.port(), "/status.json")).find("\"state\":\"active\"") != std::string::npos);
}

TEST_CASE("/status.json shows a fill in progress, then pulls saved and top repositories",
          "[status][integration]") {
  std::atomic<bool> release{false};
  ScriptedUpstream upstream([&](const RecordedRequest &request, UpstreamReply &reply) {
    if (request.requestLine().find("/manifests/") != std::string::npos) {
      reply.send(okResponse(
          kManifest, "Content-Type: " + kManifestType +
                         "\r\nDocker-Content-Digest: sha256:" + regcache::sha256Hex(kManifest) +
                         "\r\nRateLimit-Remaining: 42;w=21600\r\n"));
      return;
    }
    // The first 100000 bytes, then nothing until the test has looked at the fill.
    if (!reply.send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: " +
                    std::to_string(kBlob.size()) + "\r\n\r\n" + kBlob.substr(0, 100000))) {
      return;
    }
    for (int i = 0; i < 500 && !release.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    reply.send(kBlob.substr(100000));
  });
  ProxyFixture proxy;
  std::string registry = "127.0.0.1:" + std::to_string(upstream.port());
  std::string blobUrl = "http://" + registry + "/v2/library/test/blobs/" + kDigest;
  std::string blobBody;
  std::thread puller([&] { blobBody = body(get(proxy.port(), blobUrl)); });

  std::string json;
  for (int i = 0; i < 200; ++i) { // up to 2 s for the fill to show its first bytes
    json = body(get(proxy.port(), "/status.json"));
    auto written = regcache::jsonIntegerField(json, "written_bytes");
    if (written && *written >= 100000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(json);
  CHECK(json.find("\"digest\":\"" + kDigest + "\"") != std::string::npos);
  CHECK(json.find("{\"registry\":\"" + registry + "\",\"digest\":") != std::string::npos);
  CHECK(regcache::jsonIntegerField(json, "written_bytes") == 100000);
  CHECK(regcache::jsonIntegerField(json, "size_bytes") == static_cast<long long>(kBlob.size()));
  CHECK(regcache::jsonIntegerField(json, "readers") == 1);
  std::string page = get(proxy.port(), "/");
  CHECK(page.find("<progress value=\"100000\" max=\"" + std::to_string(kBlob.size()) + "\">") !=
        std::string::npos);
  CHECK(page.find(kDigest.substr(0, 19)) != std::string::npos);
  release = true;
  puller.join();
  REQUIRE(blobBody == kBlob);

  std::string manifestUrl = "http://" + registry + "/v2/library/test/manifests/v1";
  for (int i = 0; i < 3; ++i)
    REQUIRE(body(get(proxy.port(), manifestUrl)) == kManifest);
  json = body(get(proxy.port(), "/status.json"));
  INFO(json);
  CHECK(json.find("\"fills\":[]") != std::string::npos);
  CHECK(json.find("{\"registry\":\"" + registry +
                  "\",\"pulls\":3,\"pulls_saved\":2,\"ratelimit_remaining\":42,") !=
        std::string::npos);
  CHECK(json.find("\"top_by_pulls\":[{\"repository\":\"" + registry +
                  "/library/test\",\"pulls\":3,\"bytes\":" +
                  std::to_string(kBlob.size() + 3 * kManifest.size()) + "}]") != std::string::npos);
  // Admin pages are no bytes "from upstream": only the blob and the one manifest miss are.
  CHECK(json.find("\"since_start\":{\"hits\":2,\"misses\":2,\"bytes_from_cache\":" +
                  std::to_string(2 * kManifest.size()) + ",\"bytes_from_upstream\":" +
                  std::to_string(kBlob.size() + kManifest.size()) + ",") != std::string::npos);
}

// A hit's response goes out in the call that answers it, so the client can read it and ask
// again, on a connection another worker serves, before that call returns: the counters must
// already include it (they did not, and the test above failed under load). On one CPU the
// client's thread, woken by the write, runs before the worker's call returns.
TEST_CASE("a hit is counted before the client can read its response", "[status][integration]") {
  OneCpu pinned; // the proxy's threads, made after this, share it
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(kManifest, "Content-Type: " + kManifestType +
                                         "\r\nDocker-Content-Digest: sha256:" +
                                         regcache::sha256Hex(kManifest) + "\r\n"));
  });
  ProxyFixture proxy;
  std::string registry = "127.0.0.1:" + std::to_string(upstream.port());
  std::string manifestUrl = "http://" + registry + "/v2/library/test/manifests/v1";
  REQUIRE(body(get(proxy.port(), manifestUrl)) == kManifest); // the miss that fills
  int uncounted = 0;
  for (int pulls = 2; pulls <= 200; ++pulls) {
    REQUIRE(body(get(proxy.port(), manifestUrl)) == kManifest);
    std::string json = body(get(proxy.port(), "/status.json"));
    std::string expected = "{\"registry\":\"" + registry + "\",\"pulls\":" + std::to_string(pulls) +
                           ",\"pulls_saved\":" + std::to_string(pulls - 1);
    if (json.find(expected) == std::string::npos) ++uncounted;
  }
  CHECK(uncounted == 0); // 25 to 33 of 199 without the fix
}
