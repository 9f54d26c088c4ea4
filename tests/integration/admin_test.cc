#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/base64.h"
#include "base/oci/digest.h"
#include "base/sha256.h"
#include "proxy/access/proxy_users.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {
std::string headerValue(const std::string &response, const std::string &name) {
  auto pos = response.find("\r\n" + name + ": ");
  if (pos == std::string::npos) return {};
  pos += name.size() + 4;
  return response.substr(pos, response.find("\r\n", pos) - pos);
}
} // namespace

TEST_CASE("GET /healthz answers ok", "[admin]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string response = client.readResponse();
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("\r\n\r\nok\n") != std::string::npos);
}

TEST_CASE("GET /ca.crt serves the PEM bundle with an ETag that If-None-Match honours", "[admin]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string response = client.readResponse();
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("-----BEGIN CERTIFICATE-----") != std::string::npos);
  std::string etag = headerValue(response, "ETag");
  REQUIRE(etag.size() > 2);

  client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: proxy\r\nIf-None-Match: " + etag + "\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 304", 0) == 0);
}

TEST_CASE("the CA survives a restart: the same root is served afterwards", "[admin]") {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("regcache-it-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto fetch = [&] {
    // Each server is stopped (its threads joined) before the next starts or the files go.
    ProxyFixture proxy([&](auto &o) { o.dataDir = dir; });
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("GET /ca.crt HTTP/1.1\r\nHost: proxy\r\n\r\n");
    std::string response = client.readResponse();
    return response.substr(response.find("\r\n\r\n"));
  };
  std::string first = fetch();
  std::string second = fetch();
  std::filesystem::remove_all(dir);
  REQUIRE(first.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(first == second);
}

TEST_CASE("unknown proxy paths get a 404", "[admin]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET /nope HTTP/1.1\r\nHost: proxy\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 404", 0) == 0);
}

// Who may read the admin endpoints. Clients from 127.0.0.2 are no admins by address here:
// --admin-allow is 127.0.0.1/32 (the default is all of loopback).
namespace {

std::string status(const std::string &response) { return response.substr(0, 12); }

std::string adminGet(const std::string &path, const std::string &extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: proxy\r\n" + extra + "\r\n";
}

std::string basic(const std::string &header, const std::string &userAndSecret) {
  return header + ": Basic " + regcache::encodeBase64(userAndSecret) + "\r\n";
}

const std::string kOpsToken = "ops-token-0123456789abcdef";
const std::string kRunnerToken = "runner-token-0123456789abcdef";

struct AdminUsersFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("regcache-admin-users-" + std::to_string(::getpid()));
  AdminUsersFile() {
    using regcache::proxy::hashProxySecret;
    std::ofstream(path) << "ops:" << hashProxySecret(kOpsToken, true, true) << "\n"
                        << "runners:" << hashProxySecret(kRunnerToken, true) << "\n"
                        << "alice:" << hashProxySecret("alice-pw", false, true) << "\n";
    ::chmod(path.c_str(), 0600);
  }
  ~AdminUsersFile() { std::filesystem::remove(path); }
};

void adminOnlyLoopback1(regcache::proxy::ServerOptions &o) { o.adminAllow = {"127.0.0.1/32"}; }

} // namespace

TEST_CASE("a client outside --admin-allow gets 403 on /metrics and /v2/_catalog, not on /ca.crt",
          "[admin][integration]") {
  ProxyFixture proxy(adminOnlyLoopback1);
  auto outsider = RawSocket::connectTo(proxy.port(), "127.0.0.2");
  for (const char *path : {"/metrics", "/v2/_catalog", "/v2/_catalog?n=10", "/nope"}) {
    INFO(path);
    outsider.sendAll(adminGet(path));
    std::string response = outsider.readResponse();
    CHECK(status(response) == "HTTP/1.1 403");
    CHECK(response.find("regcache_") == std::string::npos);
    CHECK(response.find("repositories") == std::string::npos);
  }
  for (const char *path : {"/ca.crt", "/healthz"}) {
    INFO(path);
    outsider.sendAll(adminGet(path));
    CHECK(status(outsider.readResponse()) == "HTTP/1.1 200");
  }
  auto admin = RawSocket::connectTo(proxy.port(), "127.0.0.1");
  admin.sendAll(adminGet("/metrics"));
  std::string metrics = admin.readResponse();
  CHECK(status(metrics) == "HTTP/1.1 200");
  CHECK(metrics.find("regcache_requests_total") != std::string::npos);
}

TEST_CASE("a proxy user marked admin reads /metrics from anywhere; an ordinary user does not",
          "[admin][integration]") {
  AdminUsersFile users;
  ProxyFixture proxy([&](auto &o) {
    adminOnlyLoopback1(o);
    o.proxyAuthFile = users.path;
  });
  struct Case {
    std::string credentials;
    const char *expected;
  };
  for (const Case &c : std::vector<Case>{
           {"", "HTTP/1.1 403"},
           {basic("Proxy-Authorization", "runners:" + kRunnerToken), "HTTP/1.1 403"},
           {basic("Proxy-Authorization", "ops:wrong"), "HTTP/1.1 403"},
           {basic("Proxy-Authorization", "ops:" + kOpsToken), "HTTP/1.1 200"},
           // A scraper's basic_auth: the endpoint is the proxy's own.
           {basic("Authorization", "ops:" + kOpsToken), "HTTP/1.1 200"},
           // A password admin: hashed on the pool, then answered.
           {basic("Proxy-Authorization", "alice:alice-pw"), "HTTP/1.1 200"},
           {basic("Proxy-Authorization", "alice:wrong"), "HTTP/1.1 403"},
       }) {
    INFO(c.credentials);
    auto client = RawSocket::connectTo(proxy.port(), "127.0.0.2");
    client.sendAll(adminGet("/metrics", c.credentials));
    CHECK(status(client.readResponse(10000ms)) == c.expected);
  }
}

TEST_CASE("the public catalog hides repositories only fetched with credentials from non-admins",
          "[admin][integration]") {
  const std::string publicBlob = "public layer";
  const std::string privateBlob = "private layer";
  auto digestOf = [](const std::string &content) {
    return "sha256:" + regcache::sha256Hex(content);
  };
  // team/private wants credentials (the public probe's anonymous HEAD gets a 401 too).
  ScriptedUpstream upstream([&](const RecordedRequest &request, UpstreamReply &reply) {
    bool isPrivate = request.requestLine().find("/team/private/") != std::string::npos;
    if (isPrivate && request.head.find("Authorization: Bearer") == std::string::npos) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const std::string &content = isPrivate ? privateBlob : publicBlob;
    reply.send(okResponse(content, "Content-Type: application/octet-stream\r\n"
                                   "Docker-Content-Digest: " +
                                       digestOf(content) + "\r\n"));
  });
  ProxyFixture proxy([](auto &o) {
    adminOnlyLoopback1(o);
    o.publicCatalog = true;
  });
  std::string registry = "127.0.0.1:" + std::to_string(upstream.port());
  auto fetch = [&](const std::string &repository, const std::string &content,
                   const std::string &extra) {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("GET http://" + registry + "/v2/" + repository + "/blobs/" + digestOf(content) +
                   " HTTP/1.1\r\nHost: " + registry + "\r\n" + extra + "\r\n");
    std::string response = client.readResponse();
    REQUIRE(response.substr(response.find("\r\n\r\n") + 4) == content);
  };
  fetch("library/public", publicBlob, "");
  fetch("team/private", privateBlob, "Authorization: Bearer secret\r\n");

  auto outsider = RawSocket::connectTo(proxy.port(), "127.0.0.2");
  outsider.sendAll(adminGet("/v2/_catalog"));
  std::string listed = outsider.readResponse();
  CHECK(status(listed) == "HTTP/1.1 200");
  CHECK(listed.find(registry + "/library/public") != std::string::npos);
  CHECK(listed.find("team/private") == std::string::npos);

  auto admin = RawSocket::connectTo(proxy.port(), "127.0.0.1");
  admin.sendAll(adminGet("/v2/_catalog"));
  std::string all = admin.readResponse();
  CHECK(all.find(registry + "/library/public") != std::string::npos);
  CHECK(all.find(registry + "/team/private") != std::string::npos);
}

TEST_CASE("metrics label values past the limit fold into other", "[admin][metrics][integration]") {
  auto limited = [](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse("{}", "RateLimit-Remaining: 42;w=21600\r\n"));
  };
  ScriptedUpstream first(limited), second(limited), third(limited);
  ProxyFixture proxy([](auto &o) { o.metricsMaxLabelValues = 2; });
  auto client = RawSocket::connectTo(proxy.port());
  for (const ScriptedUpstream *upstream : {&first, &second, &third}) {
    std::string host = "127.0.0.1:" + std::to_string(upstream->port());
    client.sendAll("GET http://" + host + "/v2/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    REQUIRE(status(client.readResponse()) == "HTTP/1.1 200");
  }
  client.sendAll(adminGet("/metrics"));
  std::string metrics = client.readResponse();
  INFO(metrics);
  std::string family = "regcache_upstream_ratelimit_remaining{registry=\"";
  CHECK(metrics.find(family + "127.0.0.1:" + std::to_string(first.port()) + "\"} 42\n") !=
        std::string::npos);
  CHECK(metrics.find(family + "127.0.0.1:" + std::to_string(second.port()) + "\"} 42\n") !=
        std::string::npos);
  CHECK(metrics.find(std::to_string(third.port())) == std::string::npos);
  CHECK(metrics.find(family + "other\"} 42\n") != std::string::npos);
}
