// Server::reload (SIGHUP): the access rules change for new connections and requests, open
// connections keep going, and a reload with any bad part changes nothing.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/base64.h"
#include "proxy/access/proxy_users.h"

#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

std::string status(const std::string &response) { return response.substr(0, 12); }

const char kHealthz[] = "GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n";

std::string healthzFrom(uint16_t port, const char *source) {
  auto client = RawSocket::connectTo(port, source);
  client.sendAll(kHealthz);
  return status(client.readResponse());
}

// What the fixture runs with, as a reload would parse it again, with `change` applied.
regcache::proxy::ServerOptions reloaded(void (*change)(regcache::proxy::ServerOptions &)) {
  regcache::proxy::ServerOptions next;
  next.allowTargets = {"127.0.0.0/8", "::1"};
  change(next);
  return next;
}

} // namespace

TEST_CASE("a reload narrowing --allow-client refuses new connections and keeps open ones",
          "[reload][integration]") {
  ProxyFixture proxy;
  auto open = RawSocket::connectTo(proxy.port(), "127.0.0.2");
  open.sendAll(kHealthz);
  REQUIRE(status(open.readResponse()) == "HTTP/1.1 200");

  auto applied =
      proxy.server().reload(reloaded([](auto &o) { o.allowClients = {"127.0.0.1/32"}; }));
  REQUIRE(applied.ok());

  CHECK(healthzFrom(proxy.port(), "127.0.0.2") == "HTTP/1.1 403");
  CHECK(healthzFrom(proxy.port(), "127.0.0.1") == "HTTP/1.1 200");
  // The keep-alive connection from the removed range was admitted before: it is not cut.
  open.sendAll(kHealthz);
  CHECK(status(open.readResponse()) == "HTTP/1.1 200");
}

TEST_CASE("a reload with a bad part keeps the whole running configuration",
          "[reload][integration]") {
  ProxyFixture proxy;
  auto badRange = proxy.server().reload(reloaded([](auto &o) {
    o.allowClients = {"127.0.0.1/32", "10.0.0.0/33"};
  }));
  CHECK_FALSE(badRange.ok());
  auto missingUsers = proxy.server().reload(reloaded([](auto &o) {
    o.allowClients = {"127.0.0.1/32"};
    o.proxyAuthFile = "/nonexistent/regcache-users";
  }));
  CHECK_FALSE(missingUsers.ok());
  auto badLevel = proxy.server().reload(reloaded([](auto &o) {
    o.allowClients = {"127.0.0.1/32"};
    o.logLevel = "loud";
  }));
  CHECK_FALSE(badLevel.ok());
  // None of the narrowed ranges above took effect.
  CHECK(healthzFrom(proxy.port(), "127.0.0.2") == "HTTP/1.1 200");
}

TEST_CASE("a reload adding a proxy users file asks the next request for credentials",
          "[reload][integration]") {
  auto upstream = ScriptedUpstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse("upstream", "Content-Type: text/plain\r\n"));
  });
  static const std::filesystem::path users =
      std::filesystem::temp_directory_path() /
      ("regcache-reload-users-" + std::to_string(::getpid()));
  std::ofstream(users) << "runners:" << regcache::proxy::hashProxySecret("token-0123456789", true)
                       << "\n";
  ::chmod(users.c_str(), 0600);
  ProxyFixture proxy;
  std::string target = "127.0.0.1:" + std::to_string(upstream.port());
  std::string forward = "GET http://" + target + "/v2/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
  auto before = RawSocket::connectTo(proxy.port());
  before.sendAll(forward);
  CHECK(status(before.readResponse()) == "HTTP/1.1 200");

  REQUIRE(proxy.server().reload(reloaded([](auto &o) { o.proxyAuthFile = users; })).ok());
  auto after = RawSocket::connectTo(proxy.port());
  after.sendAll(forward);
  CHECK(status(after.readResponse()) == "HTTP/1.1 407");
  std::filesystem::remove(users);
}

TEST_CASE("a reload turning on proxy users checks passwords off the loop from then on",
          "[reload][integration]") {
  auto upstream = ScriptedUpstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse("upstream", "Content-Type: text/plain\r\n"));
  });
  static const std::filesystem::path users =
      std::filesystem::temp_directory_path() /
      ("regcache-reload-passwords-" + std::to_string(::getpid()));
  // A password (not a token) line: its check runs on the ProxyAuthPool, which the proxy started
  // without any proxy users.
  std::ofstream(users) << "alice:" << regcache::proxy::hashProxySecret("right", false) << "\n";
  ::chmod(users.c_str(), 0600);
  ProxyFixture proxy;
  REQUIRE(proxy.server().reload(reloaded([](auto &o) { o.proxyAuthFile = users; })).ok());
  std::string target = "127.0.0.1:" + std::to_string(upstream.port());
  auto forward = [&](const std::string &password) {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("GET http://" + target + "/v2/ HTTP/1.1\r\nHost: " + target +
                   "\r\nProxy-Authorization: Basic " + regcache::encodeBase64("alice:" + password) +
                   "\r\n\r\n");
    return status(client.readResponse());
  };
  CHECK(forward("right") == "HTTP/1.1 200");
  CHECK(forward("wrong") == "HTTP/1.1 407");
  std::filesystem::remove(users);
}

TEST_CASE("a reload narrowing --admin-allow refuses /metrics to the removed range",
          "[reload][integration]") {
  ProxyFixture proxy;
  auto metrics = [&] {
    auto client = RawSocket::connectTo(proxy.port(), "127.0.0.1");
    client.sendAll("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n");
    return status(client.readResponse());
  };
  REQUIRE(metrics() == "HTTP/1.1 200");
  REQUIRE(proxy.server().reload(reloaded([](auto &o) { o.adminAllow = {"10.0.0.0/8"}; })).ok());
  CHECK(metrics() == "HTTP/1.1 403");
}
