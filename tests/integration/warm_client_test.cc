// cache warm's registry client against a scripted registry over verified TLS (a TlsFront before
// a ScriptedUpstream), without a proxy: the anonymous bearer-token dance, redirects, and
// manifests that lie about their digest or are too large.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>

#include "app/registry_client.h"
#include "app/warm_plan.h"
#include "base/sha256.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;
using regcache::app::HttpGetSettings;
using regcache::app::ImageReference;
using regcache::app::RegistryClient;

namespace {

const std::string kLayer = "layer bytes to warm";
const std::string kLayerDigest = "sha256:" + regcache::sha256Hex(kLayer);
const std::string kConfig = "{}";
const std::string kConfigDigest = "sha256:" + regcache::sha256Hex(kConfig);
const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"digest":")" +
    kConfigDigest + R"(","size":2},"layers":[{"digest":")" + kLayerDigest + R"(","size":19}]})";
const std::string kManifestDigest = "sha256:" + regcache::sha256Hex(kManifest);

std::string response(int status, const std::string &body, const std::string &extra = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

// A registry that wants a bearer token (from its own /token) on every /v2/ request and sends
// blobs to /cdn/ with a 307. `frontPort` is set once the TLS front is up.
struct TokenRegistry {
  std::atomic<uint16_t> frontPort{0};
  std::string manifest = kManifest;
  ScriptedUpstream upstream{[this](const RecordedRequest &request, UpstreamReply &reply) {
    std::string line = request.requestLine();
    std::string realm = "https://127.0.0.1:" + std::to_string(frontPort.load()) + "/token";
    if (line.rfind("GET /token?", 0) == 0) {
      bool asked = line.find("scope=repository%3Atest%2Fapp%3Apull") != std::string::npos &&
                   line.find("service=warm-test") != std::string::npos;
      reply.send(asked ? response(200, R"({"token":"t0k3n","expires_in":300})")
                       : response(400, "bad scope"));
    } else if (line.rfind("GET /cdn/", 0) == 0) {
      reply.send(response(200, kLayer));
    } else if (!request.hasHeaderLine("Authorization: Bearer t0k3n")) {
      reply.send(response(401, "{}",
                          "WWW-Authenticate: Bearer realm=\"" + realm +
                              "\",service=\"warm-test\",scope=\"repository:test/app:pull\"\r\n"));
    } else if (line.rfind("GET /v2/test/app/manifests/", 0) == 0) {
      reply.send(
          response(200, manifest, "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"));
    } else if (line.rfind("GET /v2/test/app/blobs/" + kLayerDigest, 0) == 0) {
      reply.send(response(307, "", "Location: /cdn/layer\r\n"));
    } else if (line.rfind("GET /v2/test/app/blobs/" + kConfigDigest, 0) == 0) {
      reply.send(response(200, kConfig));
    } else {
      reply.send(response(404, "{}"));
    }
  }};
  TlsFront front{upstream.port()};
  TokenRegistry() {
    frontPort = front.port();
    std::signal(SIGPIPE, SIG_IGN); // as `regcache cache warm` does: a cut connection is an error
  }

  ImageReference image(const std::string &reference) const {
    return ImageReference{"127.0.0.1:" + std::to_string(front.port()), "test/app", reference};
  }
  HttpGetSettings settings() const {
    HttpGetSettings out;
    out.caFile = front.caFile();
    out.timeout = std::chrono::seconds(5);
    return out;
  }
};

} // namespace

TEST_CASE("cache warm answers a Bearer challenge with an anonymous token and follows redirects",
          "[warm]") {
  TokenRegistry registry;
  RegistryClient client(registry.settings());
  auto plan = regcache::app::planImage(client, registry.image("v1"), {});
  REQUIRE(plan.ok());
  REQUIRE(plan->blobs.size() == 2);
  CHECK(plan->blobs[0].digest == kConfigDigest);
  CHECK(plan->blobs[1].digest == kLayerDigest);
  std::uint64_t heard = 0;
  auto layer = client.get(registry.image("v1"), "blobs", kLayerDigest, "", 0, kLayer.size(),
                          [&](std::uint64_t n) { heard += n; });
  REQUIRE(layer.ok());
  CHECK(layer->bodyBytes == kLayer.size());
  CHECK(heard == kLayer.size());
  int tokenRequests = 0;
  for (const auto &request : registry.upstream.requests()) {
    if (request.requestLine().rfind("GET /token?", 0) == 0) ++tokenRequests;
    // The token endpoint is asked anonymously.
    if (request.requestLine().rfind("GET /token?", 0) == 0) {
      CHECK_FALSE(request.hasHeaderLine("Authorization: Bearer t0k3n"));
    }
  }
  CHECK(tokenRequests == 1); // kept for the repository after the first 401
}

TEST_CASE("cache warm refuses a manifest that does not match the digest it was asked by",
          "[warm]") {
  TokenRegistry registry;
  RegistryClient client(registry.settings());
  auto good = regcache::app::planImage(client, registry.image(kManifestDigest), {});
  CHECK(good.ok());
  auto wrong =
      regcache::app::planImage(client, registry.image("sha256:" + std::string(64, 'a')), {});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.failure().detail.find("does not match its digest") != std::string::npos);
}

TEST_CASE("cache warm refuses a manifest past 4 MiB and a missing one by status", "[warm]") {
  TokenRegistry registry;
  registry.manifest = std::string(5 * 1024 * 1024, ' ') + kManifest;
  RegistryClient client(registry.settings());
  auto huge = regcache::app::planImage(client, registry.image("v1"), {});
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.failure().code == regcache::Error::kTooLarge);
  auto missing =
      client.get(registry.image("v1"), "blobs", "sha256:" + std::string(64, 'b'), "", 0, 100);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.failure().code == regcache::Error::kNotFound);
  CHECK(missing.failure().detail.find("HTTP 404") != std::string::npos);
}

TEST_CASE("cache warm stops reading a blob that runs past its descriptor's size", "[warm]") {
  TokenRegistry registry;
  RegistryClient client(registry.settings());
  auto longer = client.get(registry.image("v1"), "blobs", kLayerDigest, "", 0, kLayer.size() - 1);
  REQUIRE_FALSE(longer.ok());
  CHECK(longer.failure().code == regcache::Error::kTooLarge);
}
