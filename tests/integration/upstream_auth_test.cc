// --upstream-auth: an anonymous client pulls from a registry that needs an account, because the
// proxy answers the registry's challenge with the operator's account. The registries are reached
// over verified TLS (a TlsFront before a scripted upstream): the account never goes elsewhere.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "base/oci/digest.h"
#include "base/sha256.h"
#include "connect_parent.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;
namespace fs = std::filesystem;

namespace {

const std::string kContent = "layer bytes only the ci account may read";
const std::string kDigest = "sha256:" + regcache::sha256Hex(kContent);
const std::string kOperatorBasic = "Authorization: Basic Y2k6czNjcmV0"; // ci:s3cret

// An absolute-form request through the proxy; https unless `plain`.
std::string get(uint16_t port, const std::string &path, const std::string &extra = "",
                bool plain = false) {
  return std::string("GET ") + (plain ? "http" : "https") + "://127.0.0.1:" + std::to_string(port) +
         path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string body(const std::string &response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

struct AccountsFile {
  fs::path path = fs::temp_directory_path() /
                  ("regcache-upstream-auth-" + std::to_string(::getpid()) + ".toml");
  explicit AccountsFile(uint16_t port, const std::string &extra = "") {
    std::ofstream(path) << "[\"127.0.0.1:" << port
                        << "\"]\nusername = \"ci\"\npassword = \"s3cret\"\n"
                        << extra;
    ::chmod(path.c_str(), 0600);
  }
  ~AccountsFile() { fs::remove(path); }
};

bool anyAuthorization(const std::vector<RecordedRequest> &requests) {
  for (const auto &request : requests) {
    std::string head = request.head;
    for (char &c : head)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head.find("\r\nauthorization:") != std::string::npos) return true;
  }
  return false;
}

// A registry with token auth: /v2/ wants "Bearer tok-ci", which /token gives for ci's password.
// The API is reached over TLS (`tls`); the realm is /token on the same TLS port, or with
// `httpRealm` on the scripted upstream's own plain-HTTP port.
struct TokenRegistry {
  std::string realm;
  ScriptedUpstream server{[this](const RecordedRequest &request, UpstreamReply &reply) {
    const std::string line = request.requestLine();
    if (line.find(" /token?") != std::string::npos) {
      if (!request.hasHeaderLine(kOperatorBasic)) {
        reply.send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      reply.send(okResponse(R"({"token":"tok-ci","expires_in":300})",
                            "Content-Type: application/json\r\n"));
      return;
    }
    if (!request.hasHeaderLine("Authorization: Bearer tok-ci")) {
      std::string challenge =
          "Bearer realm=\"" + realm + "\",service=\"test\",scope=\"repository:library/test:pull\"";
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: " + challenge +
                 "\r\nContent-Length: 12\r\n\r\nunauthorized");
      return;
    }
    reply.send(okResponse(kContent, "Docker-Content-Digest: " + kDigest + "\r\n"));
  }};
  TlsFront tls{server.port()};
  // Set before any request reaches the server (its threads start on accept).
  explicit TokenRegistry(bool httpRealm = false) {
    realm = httpRealm ? "http://127.0.0.1:" + std::to_string(server.port()) + "/token"
                      : "https://127.0.0.1:" + std::to_string(tls.port()) + "/token";
  }
  uint16_t port() const { return tls.port(); }
  std::size_t tokenRequests() const {
    std::size_t n = 0;
    for (const auto &r : server.requests())
      n += r.requestLine().find(" /token?") != std::string::npos ? 1 : 0;
    return n;
  }
};

} // namespace

TEST_CASE("an anonymous client pulls with the operator's account through a token exchange",
          "[upstream_auth][integration]") {
  TokenRegistry registry;
  AccountsFile accounts(registry.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamAuthFile = accounts.path;
    o.upstreamCaFiles = {registry.tls.caFile()};
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(registry.port(), "/v2/library/test/blobs/" + kDigest));
  std::string first = client.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(first) == kContent);
  // Another request for the repository reuses the token.
  client.sendAll(get(registry.port(), "/v2/library/test/tags/list"));
  CHECK(client.readResponse().rfind("HTTP/1.1 200", 0) == 0);
  CHECK(registry.tokenRequests() == 1);
  auto requests = registry.server.requests();
  REQUIRE(requests.size() == 4); // blob (401), token, blob, tags/list
  CHECK(requests[3].hasHeaderLine("Authorization: Bearer tok-ci"));
}

TEST_CASE("through a parent proxy, the token exchange goes through it as well",
          "[upstream_auth][chain][integration]") {
  TokenRegistry registry;
  AccountsFile accounts(registry.port());
  ConnectParent parent(ConnectParent::Mode::kRelay);
  ProxyFixture proxy([&](auto &o) {
    o.upstreamAuthFile = accounts.path;
    o.upstreamCaFiles = {registry.tls.caFile()};
    o.upstreamProxy = "http://127.0.0.1:" + std::to_string(parent.port());
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(registry.port(), "/v2/library/test/blobs/" + kDigest));
  std::string first = client.readResponse();
  REQUIRE(first.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(first) == kContent);
  CHECK(registry.tokenRequests() == 1);
  // Every connection the registry got came through the parent: the token fetch's too.
  auto lines = parent.connectLines();
  CHECK(lines.size() >= 2);
  CHECK(static_cast<int>(lines.size()) == registry.server.connectionsAccepted());
  for (const auto &line : lines)
    CHECK(line == "CONNECT 127.0.0.1:" + std::to_string(registry.port()) + " HTTP/1.1");
}

TEST_CASE("a client's own Authorization wins over the operator's account",
          "[upstream_auth][integration]") {
  TokenRegistry registry;
  AccountsFile accounts(registry.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamAuthFile = accounts.path;
    o.upstreamCaFiles = {registry.tls.caFile()};
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(
      get(registry.port(), "/v2/library/test/tags/list", "Authorization: Bearer mine\r\n"));
  std::string response = client.readResponse();
  CHECK(response.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(response.find("WWW-Authenticate: Bearer") != std::string::npos);
  CHECK(registry.tokenRequests() == 0);
}

namespace {
// A registry that wants the operator's Basic account on every request.
ScriptedUpstream basicRegistry() {
  return ScriptedUpstream([](const RecordedRequest &request, UpstreamReply &reply) {
    if (!request.hasHeaderLine(kOperatorBasic)) {
      reply.send("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"\r\n"
                 "Content-Length: 0\r\n\r\n");
      return;
    }
    reply.send(okResponse("{}", "Content-Type: application/json\r\n"));
  });
}
} // namespace

TEST_CASE("a Basic registry gets the operator's account directly", "[upstream_auth][integration]") {
  auto registry = basicRegistry();
  TlsFront tls(registry.port());
  AccountsFile accounts(tls.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamAuthFile = accounts.path;
    o.upstreamCaFiles = {tls.caFile()};
  });
  auto client = RawSocket::connectTo(proxy.port());
  for (int i = 0; i < 2; ++i) {
    client.sendAll(get(tls.port(), "/v2/"));
    CHECK(client.readResponse().rfind("HTTP/1.1 200", 0) == 0);
  }
  // The second request sent the account up front.
  CHECK(registry.requests().size() == 3);
}

TEST_CASE("the operator's account never goes over plain HTTP, even to its own host and port",
          "[upstream_auth][integration]") {
  auto registry = basicRegistry();
  AccountsFile accounts(registry.port()); // the account names exactly this host:port
  ProxyFixture proxy([&](auto &o) { o.upstreamAuthFile = accounts.path; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(registry.port(), "/v2/", "", true));
  // The registry's own 401 reaches the client; nothing sent upstream carried the account.
  CHECK(client.readResponse().rfind("HTTP/1.1 401", 0) == 0);
  CHECK(registry.requests().size() == 1);
  CHECK_FALSE(anyAuthorization(registry.requests()));
}

TEST_CASE("an http:// token realm gets the operator's account only where the account allows it",
          "[upstream_auth][integration]") {
  TokenRegistry registry(true);
  for (bool allowed : {false, true}) {
    INFO("allow_http_realm: " << allowed);
    AccountsFile accounts(registry.port(), allowed ? "allow_http_realm = true\n" : "");
    ProxyFixture proxy([&](auto &o) {
      o.upstreamAuthFile = accounts.path;
      o.upstreamCaFiles = {registry.tls.caFile()};
    });
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(get(registry.port(), "/v2/library/test/blobs/" + kDigest));
    std::string response = client.readResponse();
    if (allowed) {
      CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
      CHECK(registry.tokenRequests() == 1);
    } else {
      // Refused: the registry's 401 goes to the client, the realm never hears of the account.
      CHECK(response.rfind("HTTP/1.1 401", 0) == 0);
      CHECK(registry.tokenRequests() == 0);
    }
  }
}

TEST_CASE("without an account for the host, the registry's 401 reaches the client",
          "[upstream_auth][integration]") {
  TokenRegistry registry;
  AccountsFile accounts(1); // an account for another port
  ProxyFixture proxy([&](auto &o) {
    o.upstreamAuthFile = accounts.path;
    o.upstreamCaFiles = {registry.tls.caFile()};
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(registry.port(), "/v2/library/test/tags/list"));
  CHECK(client.readResponse().rfind("HTTP/1.1 401", 0) == 0);
  CHECK(registry.tokenRequests() == 0);
}
