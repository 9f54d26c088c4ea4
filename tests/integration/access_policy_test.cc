// Who may use the proxy (--allow-client), what it may reach (the target policy), and
// --read-only. Refused targets get a 403 before any connection: the upstreams here count accepts.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "proxy/access/proxy_users.h"

#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

ScriptedUpstream okUpstream() {
  return ScriptedUpstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse("upstream", "Content-Type: text/plain\r\n"));
  });
}

std::string connectTo(const std::string &target) {
  return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
}

std::string status(const std::string &response) { return response.substr(0, 12); }

// Loopback is refused like any private range unless allowed.
void refuseLoopback(regcache::proxy::ServerOptions &o) { o.allowTargets.clear(); }

} // namespace

TEST_CASE("a client outside --allow-client gets a 403", "[policy][integration]") {
  ProxyFixture proxy([](auto &o) { o.allowClients = {"127.0.0.1/32"}; });
  auto outsider = RawSocket::connectTo(proxy.port(), "127.0.0.2");
  outsider.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string refused = outsider.readAll();
  CHECK(status(refused) == "HTTP/1.1 403");
  CHECK(refused.find("127.0.0.2") != std::string::npos);

  auto insider = RawSocket::connectTo(proxy.port(), "127.0.0.1");
  insider.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  CHECK(status(insider.readResponse()) == "HTTP/1.1 200");
}

TEST_CASE("the default client ranges admit loopback", "[policy][integration]") {
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port(), "127.0.0.2");
  client.sendAll("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n");
  CHECK(status(client.readResponse()) == "HTTP/1.1 200");
}

TEST_CASE("CONNECT to a metadata or link-local address is refused", "[policy][integration]") {
  ProxyFixture proxy;
  for (const char *target : {"169.254.169.254:80", "169.254.10.1:443", "[fe80::1]:443"}) {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(connectTo(target));
    std::string response = client.readAll();
    INFO(target);
    CHECK(status(response) == "HTTP/1.1 403");
  }
}

TEST_CASE("CONNECT to NAT64 or 6to4 of loopback, or to Azure's wire server, is refused",
          "[policy][integration]") {
  auto upstream = okUpstream();
  std::string port = std::to_string(upstream.port());
  for (bool tunnel : {false, true}) {
    ProxyFixture proxy([tunnel](auto &o) {
      refuseLoopback(o);
      if (tunnel) o.tunnelPatterns = {"*"};
    });
    for (const std::string &target :
         {"[64:ff9b::7f00:1]:" + port, "[2002:7f00:1::]:" + port, "[::ffff:127.0.0.1]:" + port,
          std::string("168.63.129.16:80")}) {
      INFO(target << " tunnel: " << tunnel);
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(connectTo(target));
      std::string response = client.readAll();
      CHECK(status(response) == "HTTP/1.1 403");
      bool named = response.find("loopback") != std::string::npos ||
                   response.find("metadata") != std::string::npos;
      CHECK(named);
    }
  }
  CHECK(upstream.connectionsAccepted() == 0);
}

TEST_CASE("a refused target gets no connection, intercepted, tunnelled or forwarded",
          "[policy][integration]") {
  auto upstream = okUpstream();
  std::string target = "127.0.0.1:" + std::to_string(upstream.port());
  for (bool tunnel : {false, true}) {
    INFO("tunnel: " << tunnel);
    ProxyFixture proxy([tunnel](auto &o) {
      refuseLoopback(o);
      if (tunnel) o.tunnelPatterns = {"*"};
    });
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(connectTo(target));
    std::string response = client.readAll();
    CHECK(status(response) == "HTTP/1.1 403");
    CHECK(response.find("loopback") != std::string::npos);
  }
  ProxyFixture forwarding(refuseLoopback);
  auto client = RawSocket::connectTo(forwarding.port());
  client.sendAll("GET http://" + target + "/v2/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
  CHECK(status(client.readResponse()) == "HTTP/1.1 403");
  CHECK(upstream.connectionsAccepted() == 0);
}

TEST_CASE("a name that resolves to loopback is refused too", "[policy][integration]") {
  auto upstream = okUpstream();
  ProxyFixture proxy(refuseLoopback);
  auto client = RawSocket::connectTo(proxy.port());
  std::string target = "localhost:" + std::to_string(upstream.port());
  client.sendAll("GET http://" + target + "/v2/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
  std::string response = client.readResponse();
  CHECK(status(response) == "HTTP/1.1 403");
  CHECK(upstream.connectionsAccepted() == 0);
}

TEST_CASE("allow rules open a range again, deny rules close it for good", "[policy][integration]") {
  auto upstream = okUpstream();
  std::string target = "127.0.0.1:" + std::to_string(upstream.port());
  std::string request = "GET http://" + target + "/v2/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
  {
    ProxyFixture allowed([&](auto &o) { o.allowTargets = {target}; });
    auto client = RawSocket::connectTo(allowed.port());
    client.sendAll(request);
    CHECK(status(client.readResponse()) == "HTTP/1.1 200");
  }
  ProxyFixture denied([](auto &o) { o.denyTargets = {"127.0.0.1"}; });
  auto client = RawSocket::connectTo(denied.port());
  client.sendAll(request);
  std::string response = client.readResponse();
  CHECK(status(response) == "HTTP/1.1 403");
  CHECK(response.find("--deny-target") != std::string::npos);
  CHECK(upstream.connectionsAccepted() == 1);
}

TEST_CASE("ports below 1024 other than 80 and 443 are refused", "[policy][integration]") {
  ProxyFixture proxy;
  // TEST-NET-1 is no special range: only the port decides, and nothing is ever dialled.
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(connectTo("192.0.2.1:25"));
  std::string response = client.readAll();
  CHECK(status(response) == "HTTP/1.1 403");
  CHECK(response.find("port 25") != std::string::npos);
}

TEST_CASE("read-only mode answers registry writes with 405 UNSUPPORTED", "[policy][integration]") {
  auto upstream = okUpstream();
  std::string base = "http://127.0.0.1:" + std::to_string(upstream.port());
  ProxyFixture proxy([](auto &o) { o.readOnly = true; });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(
      "PUT " + base +
      "/v2/team/app/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}");
  std::string refused = client.readAll();
  CHECK(status(refused) == "HTTP/1.1 405");
  CHECK(refused.find(R"({"errors":[{"code":"UNSUPPORTED")") != std::string::npos);
  CHECK(upstream.requests().empty());

  auto reader = RawSocket::connectTo(proxy.port());
  reader.sendAll("GET " + base + "/v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(status(reader.readResponse()) == "HTTP/1.1 200");
}

namespace {

const std::string kRunnerToken = "runner-token-0123456789abcdef";
const std::string kRunnerAuth = // runners:runner-token-0123456789abcdef
    "Proxy-Authorization: Basic cnVubmVyczpydW5uZXItdG9rZW4tMDEyMzQ1Njc4OWFiY2RlZg==\r\n";

struct UsersFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("regcache-proxy-users-" + std::to_string(::getpid()));
  UsersFile() {
    std::ofstream(path) << "runners:" << regcache::proxy::hashProxySecret(kRunnerToken, true)
                        << "\n";
    ::chmod(path.c_str(), 0600);
  }
  ~UsersFile() { std::filesystem::remove(path); }
};

} // namespace

TEST_CASE("with a proxy users file, CONNECT and forwarding need credentials",
          "[policy][integration]") {
  auto upstream = okUpstream();
  UsersFile users;
  ProxyFixture proxy([&](auto &o) { o.proxyAuthFile = users.path; });
  std::string target = "127.0.0.1:" + std::to_string(upstream.port());
  std::string forward = "GET http://" + target + "/v2/ HTTP/1.1\r\nHost: " + target + "\r\n";
  const std::string wrong = "Proxy-Authorization: Basic cnVubmVyczp3cm9uZw==\r\n"; // runners:wrong
  for (const std::string &credentials : {std::string(), wrong}) {
    for (const std::string &request :
         {connectTo(target).substr(0, connectTo(target).size() - 2) + credentials + "\r\n",
          forward + credentials + "\r\n"}) {
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(request);
      std::string response = client.readAll();
      INFO(request);
      CHECK(status(response) == "HTTP/1.1 407");
      CHECK(response.find("Proxy-Authenticate: Basic realm=\"regcache\"") != std::string::npos);
    }
  }
  CHECK(upstream.connectionsAccepted() == 0);

  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(forward + kRunnerAuth + "\r\n");
  CHECK(status(client.readResponse()) == "HTTP/1.1 200");
  // The proxy's own endpoints stay open: VMs fetch /ca.crt before they are configured.
  client.sendAll("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n");
  std::string metrics = client.readResponse();
  CHECK(status(metrics) == "HTTP/1.1 200");
  CHECK(metrics.find("regcache_client_requests_total{user=\"runners\"} 1\n") != std::string::npos);
  // Credentials are for the proxy: upstream never sees them.
  REQUIRE(upstream.requests().size() == 1);
  CHECK(upstream.requests()[0].head.find("Proxy-Authorization") == std::string::npos);
}
