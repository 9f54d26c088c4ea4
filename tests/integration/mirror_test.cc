// The mirror endpoint: origin-form registry requests to the proxy's own port (containerd
// hosts.toml, dockerd registry-mirrors) go to the registry ?ns= names, through the same cache.
// Registries are reached over verified TLS (a TlsFront before a scripted upstream), named by
// ns=127.0.0.1%3APORT as containerd encodes it.
#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/base64.h"
#include "base/oci/digest.h"
#include "base/openssl_handles.h"
#include "base/sha256.h"
#include "proxy/access/proxy_users.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;
namespace fs = std::filesystem;

namespace {

const std::string kContent = "a public layer, pulled through the mirror";
const std::string kDigest = "sha256:" + regcache::sha256Hex(kContent);
const std::string kOther = "another public layer";
const std::string kOtherDigest = "sha256:" + regcache::sha256Hex(kOther);

// An origin-form request to the proxy, as a mirror client sends it.
std::string mirrorGet(const std::string &path, uint16_t registryPort, const std::string &extra = "",
                      const std::string &method = "GET") {
  return method + " " + path + "?ns=127.0.0.1%3A" + std::to_string(registryPort) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

bool hasAuthorization(const RecordedRequest &request) {
  std::string head = request.head;
  for (char &c : head)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head.find("\r\nauthorization:") != std::string::npos;
}

// A registry serving two blobs to anyone, no auth.
ScriptedUpstream openRegistry() {
  return ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    const std::string line = request.requestLine();
    if (line.find(kDigest) != std::string::npos) {
      reply.send(okResponse(kContent, "Docker-Content-Digest: " + kDigest + "\r\n"));
    } else if (line.find(kOtherDigest) != std::string::npos) {
      reply.send(okResponse(kOther, "Docker-Content-Digest: " + kOtherDigest + "\r\n"));
    } else {
      reply.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
  });
}

// A token registry like Docker Hub: every API request wants a bearer token, which the realm
// hands to anyone (no credentials) as "tok-anon".
struct AnonymousTokenRegistry {
  std::string realm;
  ScriptedUpstream server{[this](const RecordedRequest &request, UpstreamReply &reply) {
    const std::string line = request.requestLine();
    if (line.find(" /token?") != std::string::npos) {
      reply.send(okResponse(R"({"token":"tok-anon","expires_in":300})",
                            "Content-Type: application/json\r\n"));
      return;
    }
    if (!request.hasHeaderLine("Authorization: Bearer tok-anon")) {
      std::string challenge =
          "Bearer realm=\"" + realm + "\",service=\"test\",scope=\"repository:library/test:pull\"";
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: " + challenge +
                 "\r\nContent-Length: 12\r\n\r\nunauthorized");
      return;
    }
    const std::string &content = line.find(kDigest) != std::string::npos ? kContent : kOther;
    reply.send(okResponse(
        content, "Docker-Content-Digest: " + ("sha256:" + regcache::sha256Hex(content)) + "\r\n"));
  }};
  TlsFront tls{server.port()};
  AnonymousTokenRegistry() { realm = "https://127.0.0.1:" + std::to_string(tls.port()) + "/token"; }
  uint16_t port() const { return tls.port(); }
  std::vector<RecordedRequest> tokenRequests() const {
    std::vector<RecordedRequest> out;
    for (const auto &r : server.requests())
      if (r.requestLine().find(" /token?") != std::string::npos) out.push_back(r);
    return out;
  }
};

} // namespace

TEST_CASE("the mirror pulls from the registry ns names, and a second pull is a cache hit",
          "[mirror][integration]") {
  auto registry = openRegistry();
  TlsFront tls(registry.port());
  ProxyFixture proxy([&](auto &o) { o.upstreamCaFiles = {tls.caFile()}; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, tls.port()));
  std::string first = client.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(first) == kContent);
  CHECK(first.find("X-Cache: MISS") != std::string::npos);
  // The same connection (keep-alive), and a new one: both from the cache.
  client.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, tls.port()));
  std::string second = client.readResponse();
  CHECK(second.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(second.find("X-Cache: HIT") != std::string::npos);
  CHECK(body(second) == kContent);
  auto another = RawSocket::connectTo(proxy.port());
  another.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, tls.port(), "", "HEAD"));
  CHECK(another.readResponse(5000ms).find("X-Cache: HIT") != std::string::npos);
  // Counted like intercepted requests: one miss, two hits (the HEAD included).
  auto admin = RawSocket::connectTo(proxy.port());
  admin.sendAll("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string metrics = admin.readResponse();
  CHECK(metrics.find("regcache_requests_total{route=\"blob\",outcome=\"miss\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.find("regcache_requests_total{route=\"blob\",outcome=\"hit\"} 2\n") !=
        std::string::npos);
  auto requests = registry.requests();
  REQUIRE(requests.size() == 1);
  // Upstream gets the path without ns, and Host names the registry.
  CHECK(requests[0].requestLine() == "GET /v2/library/test/blobs/" + kDigest + " HTTP/1.1");
  CHECK(requests[0].hasHeaderLine("Host: 127.0.0.1:" + std::to_string(tls.port())));
}

TEST_CASE("the mirror answers a token registry's challenge with an anonymous token of its own",
          "[mirror][integration]") {
  AnonymousTokenRegistry registry;
  ProxyFixture proxy([&](auto &o) { o.upstreamCaFiles = {registry.tls.caFile()}; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, registry.port()));
  std::string first = client.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(first) == kContent);
  // A second blob of the repository reuses the token.
  client.sendAll(mirrorGet("/v2/library/test/blobs/" + kOtherDigest, registry.port()));
  std::string second = client.readResponse();
  REQUIRE(second.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(second) == kOther);
  auto tokens = registry.tokenRequests();
  REQUIRE(tokens.size() == 1);
  CHECK_FALSE(hasAuthorization(tokens[0])); // anonymous: no account, no client credential
  CHECK(tokens[0].requestLine().find("scope=repository%3Alibrary%2Ftest%3Apull") !=
        std::string::npos);
  auto requests = registry.server.requests();
  REQUIRE(requests.size() == 4); // blob (401), token, blob, second blob
  CHECK(requests[3].hasHeaderLine("Authorization: Bearer tok-anon"));
}

TEST_CASE("a client's Authorization sent to the mirror never reaches the registry",
          "[mirror][integration]") {
  AnonymousTokenRegistry registry;
  ProxyFixture proxy([&](auto &o) { o.upstreamCaFiles = {registry.tls.caFile()}; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, registry.port(),
                           "Authorization: Bearer the-clients-own-secret\r\n"));
  std::string response = client.readResponse();
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  for (const auto &request : registry.server.requests()) {
    CHECK(request.head.find("the-clients-own-secret") == std::string::npos);
  }
}

TEST_CASE("the mirror answers the /v2/ ping itself, and refuses pushes and other registries",
          "[mirror][integration]") {
  auto registry = openRegistry();
  TlsFront tls(registry.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamCaFiles = {tls.caFile()};
    o.mirrorRegistries = {"docker.io", "127.0.0.1:1"};
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string ping = client.readResponse();
  CHECK(ping.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(ping.find("Docker-Distribution-API-Version: registry/2.0") != std::string::npos);
  CHECK(ping.find("WWW-Authenticate") == std::string::npos);
  CHECK(ping.find("Connection: close") == std::string::npos); // kept alive
  // The admin endpoints still answer on the same connection.
  client.sendAll("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 200", 0) == 0);

  // A registry outside --mirror-registries: 403 with the OCI error, and nothing sent upstream.
  client.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, tls.port()));
  std::string denied = client.readResponse();
  CHECK(denied.rfind("HTTP/1.1 403", 0) == 0);
  CHECK(denied.find("Content-Type: application/json") != std::string::npos);
  CHECK(body(denied).find(R"("code":"DENIED")") != std::string::npos);
  CHECK(registry.requests().empty());

  auto pusher = RawSocket::connectTo(proxy.port());
  pusher.sendAll("POST /v2/library/test/blobs/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Length: 0\r\n\r\n");
  std::string push = pusher.readResponse();
  CHECK(push.rfind("HTTP/1.1 405", 0) == 0);
  CHECK(body(push).find(R"("code":"UNSUPPORTED")") != std::string::npos);
}

TEST_CASE("with --proxy-auth-file the mirror asks for proxy credentials the registry way",
          "[mirror][integration]") {
  auto registry = openRegistry();
  TlsFront tls(registry.port());
  auto path = fs::temp_directory_path() / ("regcache-mirror-users-" + std::to_string(::getpid()));
  std::ofstream(path) << "runner:" << regcache::proxy::hashProxySecret("t0ken-for-ci", true)
                      << "\n";
  ::chmod(path.c_str(), 0600);
  {
    ProxyFixture proxy([&](auto &o) {
      o.upstreamCaFiles = {tls.caFile()};
      o.proxyAuthFile = path;
    });
    auto stranger = RawSocket::connectTo(proxy.port());
    stranger.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, tls.port()));
    std::string refused = stranger.readResponse();
    CHECK(refused.rfind("HTTP/1.1 401", 0) == 0);
    CHECK(refused.find("WWW-Authenticate: Basic realm=\"regcache\"") != std::string::npos);
    CHECK(body(refused).find(R"("code":"UNAUTHORIZED")") != std::string::npos);
    CHECK(registry.requests().empty());

    // containerd sends hosts.toml's header; the credential is the proxy's and goes no further.
    auto runner = RawSocket::connectTo(proxy.port());
    runner.sendAll(mirrorGet("/v2/library/test/blobs/" + kDigest, tls.port(),
                             "Authorization: Basic " +
                                 regcache::encodeBase64("runner:t0ken-for-ci") + "\r\n"));
    std::string pulled = runner.readResponse();
    CHECK(pulled.rfind("HTTP/1.1 200", 0) == 0);
    auto requests = registry.requests();
    REQUIRE(requests.size() == 1);
    CHECK_FALSE(hasAuthorization(requests[0]));
  }
  fs::remove(path);
}

namespace {
const std::string kPrivate = "a private layer, for the ci account alone";
const std::string kPrivateDigest = "sha256:" + regcache::sha256Hex(kPrivate);
const std::string kClientBasic = "Authorization: Basic Y2k6czNjcmV0"; // ci:s3cret
} // namespace

TEST_CASE("content an intercepted client pulled with credentials is not served to the mirror",
          "[mirror][integration]") {
  // private/app needs ci's account; without it, the registry's 401.
  ScriptedUpstream registry([](const RecordedRequest &request, UpstreamReply &reply) {
    if (!request.hasHeaderLine(kClientBasic)) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\n"
                 "Content-Length: 12\r\n\r\nunauthorized");
      return;
    }
    reply.send(okResponse(kPrivate, "Docker-Content-Digest: " + kPrivateDigest + "\r\n"));
  });
  TlsFront tls(registry.port());
  ProxyFixture proxy([&](auto &o) { o.upstreamCaFiles = {tls.caFile()}; });
  auto owner = RawSocket::connectTo(proxy.port());
  owner.sendAll("GET https://127.0.0.1:" + std::to_string(tls.port()) + "/v2/private/app/blobs/" +
                kPrivateDigest + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kClientBasic + "\r\n\r\n");
  std::string owned = owner.readResponse();
  REQUIRE(owned.rfind("HTTP/1.1 200", 0) == 0);
  REQUIRE(body(owned) == kPrivate); // cached, as served with credentials

  // The mirror's client (with or without an Authorization of its own) gets upstream's verdict on
  // anonymous access, never the cached bytes.
  for (const std::string &extra : {std::string(), kClientBasic + "\r\n"}) {
    auto mirror = RawSocket::connectTo(proxy.port());
    mirror.sendAll(mirrorGet("/v2/private/app/blobs/" + kPrivateDigest, tls.port(), extra));
    std::string response = mirror.readResponse();
    CHECK(response.rfind("HTTP/1.1 401", 0) == 0);
    CHECK(response.find(kPrivate) == std::string::npos);
  }
}

namespace {

// A verified TLS client on 127.0.0.1:port trusting only `bundlePem`, checking the leaf for `name`
// (an IP literal or a DNS name, sent as SNI unless it is an IP). Returns the response to
// `request`, or "" when the handshake or verification fails.
std::string overVerifiedTls(uint16_t port, const std::string &bundlePem, const std::string &name,
                            const std::string &request) {
  auto client = RawSocket::connectTo(port);
  timeval tv{3, 0}; // every blocking read below waits at most this long
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  regcache::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  BIO *bio = BIO_new_mem_buf(bundlePem.data(), static_cast<int>(bundlePem.size()));
  while (X509 *cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), cert);
    X509_free(cert);
  }
  BIO_free(bio);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  regcache::SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), client.fd());
  bool ip = name.find_first_not_of("0123456789.:") == std::string::npos;
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), name.c_str());
    SSL_set1_host(ssl.get(), name.c_str());
  }
  ERR_clear_error();
  if (SSL_connect(ssl.get()) != 1) return "";
  SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
  std::string response;
  char buffer[4096];
  while (responseLength(response) == 0) {
    int n = SSL_read(ssl.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  return response;
}

std::string caBundle(uint16_t port) {
  auto client = RawSocket::connectTo(port);
  client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  return body(client.readResponse());
}

} // namespace

TEST_CASE("the mirror's TLS listener presents a leaf for the address or name the client reached",
          "[mirror][integration]") {
  auto registry = openRegistry();
  TlsFront tls(registry.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamCaFiles = {tls.caFile()};
    o.mirrorTlsListen = {{"127.0.0.1", 0}};
  });
  REQUIRE(proxy.ports().size() == 2);
  uint16_t mirrorTls = proxy.ports()[1];
  std::string bundle = caBundle(proxy.port());
  // By IP (no SNI) and by name (SNI), both verified against the bundle; the pull goes through.
  std::string pulled = overVerifiedTls(mirrorTls, bundle, "127.0.0.1",
                                       mirrorGet("/v2/library/test/blobs/" + kDigest, tls.port()));
  REQUIRE(pulled.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(pulled) == kContent);
  std::string ping = overVerifiedTls(mirrorTls, bundle, "regcache.test",
                                     "GET /v2/ HTTP/1.1\r\nHost: regcache.test\r\n\r\n");
  CHECK(ping.rfind("HTTP/1.1 200", 0) == 0);
  // Proxy requests are for --listen.
  std::string proxied = overVerifiedTls(mirrorTls, bundle, "127.0.0.1",
                                        "GET http://127.0.0.1:" + std::to_string(tls.port()) +
                                            "/v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(proxied.rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("the mirror's TLS listener refuses clients outside --allow-client before TLS",
          "[mirror][integration]") {
  ProxyFixture proxy([&](auto &o) {
    o.mirrorTlsListen = {{"127.0.0.1", 0}};
    o.allowClients = {"10.0.0.0/8"};
    o.adminAllow = {"127.0.0.1/32"};
  });
  auto client = RawSocket::connectTo(proxy.ports().at(1));
  // Closed at once, without waiting for a ClientHello (the handshake timeout is 10 s).
  CHECK(client.waitClosed(2000ms));
}
