// Chaining through a parent proxy (--upstream-proxy): every upstream connection is a CONNECT
// to the parent, which resolves the origin's name (names under .test resolve nowhere, so a
// child that tried itself would fail); the parent's answer is hostile input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/sha256.h"
#include "connect_parent.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;

namespace {

std::string parentUrl(const ConnectParent &parent) {
  return "http://127.0.0.1:" + std::to_string(parent.port());
}

std::string get(const std::string &authority, const std::string &path,
                const std::string &scheme = "http") {
  return "GET " + scheme + "://" + authority + path + " HTTP/1.1\r\nHost: " + authority +
         "\r\n\r\n";
}

std::string body(const std::string &response) {
  auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string named(uint16_t port, const std::string &name = "registry.chain.test") {
  return name + ":" + std::to_string(port);
}

ScriptedUpstream helloUpstream() {
  return ScriptedUpstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("hello")); });
}

} // namespace

TEST_CASE("through a parent proxy, the origin is CONNECTed by name with the parent's "
          "credentials, and the child resolves nothing",
          "[chain][integration]") {
  auto upstream = helloUpstream();
  ConnectParent parent(ConnectParent::Mode::kRelay);
  ProxyFixture proxy([&](auto &o) {
    o.upstreamProxy = "http://ci%40corp:s3cret@127.0.0.1:" + std::to_string(parent.port());
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(named(upstream.port()), "/hello"));
  std::string response = client.readResponse();
  INFO(response);
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(response) == "hello");
  auto heads = parent.connectHeads();
  REQUIRE(heads.size() == 1);
  CHECK(heads[0].rfind("CONNECT " + named(upstream.port()) + " HTTP/1.1\r\n", 0) == 0);
  CHECK(heads[0].find("\r\nHost: " + named(upstream.port())) != std::string::npos);
  CHECK(heads[0].find("\r\nProxy-Authorization: Basic " +
                      regcache::encodeBase64("ci@corp:s3cret")) != std::string::npos);
  REQUIRE(upstream.requests().size() == 1);
  CHECK(upstream.requests()[0].requestLine() == "GET /hello HTTP/1.1");
  CHECK(upstream.requests()[0].hasHeaderLine("Host: " + named(upstream.port())));
}

TEST_CASE("TLS through a parent proxy is verified against the origin, not the parent",
          "[chain][integration]") {
  auto upstream = helloUpstream();
  TlsFront tls(upstream.port());
  ConnectParent parent(ConnectParent::Mode::kRelay);
  const std::string origin = "127.0.0.1:" + std::to_string(tls.port());
  SECTION("with the origin's CA trusted, the request goes through") {
    ProxyFixture proxy([&](auto &o) {
      o.upstreamProxy = parentUrl(parent);
      o.upstreamCaFiles = {tls.caFile()};
    });
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(get(origin, "/hello", "https"));
    std::string response = client.readResponse();
    INFO(response);
    REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(body(response) == "hello");
    CHECK(parent.connectLines() == std::vector<std::string>{"CONNECT " + origin + " HTTP/1.1"});
    CHECK(tls.cleartextReceived().empty());
  }
  SECTION("without it, the handshake through the tunnel fails") {
    ProxyFixture proxy([&](auto &o) { o.upstreamProxy = parentUrl(parent); });
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(get(origin, "/hello", "https"));
    std::string response = client.readResponse();
    CHECK(response.rfind("HTTP/1.1 502", 0) == 0);
    CHECK(response.find("certificate verify failed") != std::string::npos);
    CHECK(upstream.requests().empty());
  }
}

TEST_CASE("bytes the parent sends right after its 200 belong to the tunnel",
          "[chain][integration]") {
  // The origin's whole response rides in the same segment as the parent's answer.
  ConnectParent parent(ConnectParent::Mode::kAnswer,
                       "HTTP/1.1 200 Connection established\r\nVia: 1.1 corp\r\n\r\n" +
                           okResponse("early-bytes"));
  ProxyFixture proxy([&](auto &o) { o.upstreamProxy = parentUrl(parent); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(named(4242), "/early"));
  std::string response = client.readResponse();
  INFO(response);
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(response) == "early-bytes");
}

TEST_CASE("a parent's refusal is a 502 naming the parent's status", "[chain][integration]") {
  auto [answer, status] = GENERATE(
      std::pair<std::string, std::string>{
          "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
          "realm=\"corp\"\r\nContent-Length: 4\r\n\r\nno!\n",
          "407"},
      std::pair<std::string, std::string>{"HTTP/1.1 403 Forbidden\r\n\r\n", "403"},
      std::pair<std::string, std::string>{"HTTP/1.0 503 Service Unavailable\r\n\r\n", "503"});
  ConnectParent parent(ConnectParent::Mode::kAnswer, answer);
  ProxyFixture proxy([&](auto &o) { o.upstreamProxy = parentUrl(parent); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(named(4242), "/refused"));
  std::string response = client.readResponse();
  INFO(response);
  CHECK(response.rfind("HTTP/1.1 502", 0) == 0);
  CHECK(response.find("answered " + status) != std::string::npos);
  CHECK(parent.connectHeads().size() == 1);
}

TEST_CASE("a garbage, endless or silent answer from the parent is a bounded 502",
          "[chain][integration]") {
  auto mode = GENERATE(ConnectParent::Mode::kAnswer, ConnectParent::Mode::kEndless,
                       ConnectParent::Mode::kSilent);
  ConnectParent parent(mode, "SSH-2.0-OpenSSH_9.2p1\r\n\x16\x03\x01 and more garbage\r\n\r\n");
  ProxyFixture proxy([&](auto &o) {
    o.upstreamProxy = parentUrl(parent);
    o.connectTimeout = std::chrono::milliseconds(500); // bounds the whole answer
  });
  auto started = std::chrono::steady_clock::now();
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(named(4242), "/bad"));
  std::string response = client.readResponse(std::chrono::seconds(8));
  INFO(response);
  CHECK(response.rfind("HTTP/1.1 502", 0) == 0);
  CHECK(response.find("parent proxy 127.0.0.1:" + std::to_string(parent.port())) !=
        std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  // The proxy serves on: the next request is answered too.
  auto again = RawSocket::connectTo(proxy.port());
  again.sendAll(get(named(4243), "/bad"));
  CHECK(again.readResponse(std::chrono::seconds(8)).rfind("HTTP/1.1 502", 0) == 0);
}

TEST_CASE("hosts in --upstream-no-proxy are connected to directly, others through the parent",
          "[chain][integration]") {
  auto upstream = helloUpstream();
  ConnectParent parent(ConnectParent::Mode::kRelay);
  ProxyFixture proxy([&](auto &o) {
    o.upstreamProxy = parentUrl(parent);
    o.upstreamNoProxy = {"10.0.0.0/8, 127.0.0.1", ".lan"};
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get("127.0.0.1:" + std::to_string(upstream.port()), "/direct"));
  CHECK(body(client.readResponse()) == "hello");
  CHECK(parent.connectHeads().empty());
  client.sendAll(get(named(upstream.port()), "/via-parent"));
  CHECK(body(client.readResponse()) == "hello");
  CHECK(parent.connectLines() ==
        std::vector<std::string>{"CONNECT " + named(upstream.port()) + " HTTP/1.1"});
}

TEST_CASE("a client's CONNECT tunnel goes through the parent", "[chain][integration]") {
  auto upstream = helloUpstream();
  ConnectParent parent(ConnectParent::Mode::kRelay);
  ProxyFixture proxy([&](auto &o) {
    o.upstreamProxy = parentUrl(parent);
    o.tunnelPatterns = {"*"};
  });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("CONNECT " + named(upstream.port()) +
                 " HTTP/1.1\r\nHost: " + named(upstream.port()) + "\r\n\r\n");
  std::string established = client.readUntil(
      [](const std::string &text) { return text.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(established.rfind("HTTP/1.1 200", 0) == 0);
  client.sendAll("GET /in-tunnel HTTP/1.1\r\nHost: " + named(upstream.port()) + "\r\n\r\n");
  std::string response = client.readUntil(
      [](const std::string &text) { return text.find("hello") != std::string::npos; });
  CHECK(response.find("hello") != std::string::npos);
  CHECK(parent.connectLines() ==
        std::vector<std::string>{"CONNECT " + named(upstream.port()) + " HTTP/1.1"});
}

TEST_CASE("a blob fill and its redirect to storage both go through the parent",
          "[chain][integration]") {
  const std::string blob = std::string(100000, 'c') + "end";
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  auto storage = ScriptedUpstream([&](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(blob, "Content-Type: application/octet-stream\r\n"));
  });
  const std::string storageName = named(storage.port(), "storage.chain.test");
  auto registry = ScriptedUpstream([&](const RecordedRequest &request, UpstreamReply &reply) {
    if (request.requestLine().rfind("GET /v2/library/test/blobs/", 0) == 0) {
      reply.send("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://" + storageName +
                 "/presigned?sig=1\r\nContent-Length: 0\r\n\r\n");
    } else {
      reply.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); // probes: public
    }
  });
  ConnectParent parent(ConnectParent::Mode::kRelay);
  ProxyFixture proxy([&](auto &o) { o.upstreamProxy = parentUrl(parent); });
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(get(named(registry.port()), "/v2/library/test/blobs/" + digest));
  std::string response = client.readResponse();
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(body(response) == blob);
  auto lines = parent.connectLines();
  CHECK(std::count(lines.begin(), lines.end(), "CONNECT " + named(registry.port()) + " HTTP/1.1") >=
        1);
  CHECK(std::count(lines.begin(), lines.end(), "CONNECT " + storageName + " HTTP/1.1") == 1);
  REQUIRE(storage.requests().size() == 1);
  CHECK(storage.requests()[0].requestLine() == "GET /presigned?sig=1 HTTP/1.1");
}

TEST_CASE("through a parent, names the target policy refuses never reach the parent",
          "[chain][integration]") {
  ConnectParent parent(ConnectParent::Mode::kRelay);
  ProxyFixture proxy([&](auto &o) {
    o.upstreamProxy = parentUrl(parent);
    o.allowTargets.clear(); // the fixture opens loopback; names are what is judged here
    o.denyTargets = {"*.blocked.test"};
  });
  for (const std::string &authority :
       {std::string("localhost:5000"), std::string("x.blocked.test:443"),
        std::string("registry.chain.test:25"), std::string("169.254.169.254:80")}) {
    INFO(authority);
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll(get(authority, "/"));
    CHECK(client.readResponse().rfind("HTTP/1.1 403", 0) == 0);
  }
  CHECK(parent.connectHeads().empty());
}

TEST_CASE("through a parent, an intercepted CONNECT is judged by name without a DNS lookup",
          "[chain][integration]") {
  // A DNS server that never answers: a lookup would hold the CONNECT for its whole timeout.
  int silentDns = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(silentDns, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  ::getsockname(silentDns, reinterpret_cast<sockaddr *>(&addr), &length);
  ConnectParent parent(ConnectParent::Mode::kRelay);
  {
    ProxyFixture proxy([&](auto &o) {
      o.upstreamProxy = parentUrl(parent);
      o.dnsServers = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
    });
    for (auto [target, status] : std::initializer_list<std::pair<const char *, const char *>>{
             {"registry.chain.test:443", "HTTP/1.1 200"}, {"localhost:443", "HTTP/1.1 403"}}) {
      INFO(target);
      auto started = std::chrono::steady_clock::now();
      auto client = RawSocket::connectTo(proxy.port());
      client.sendAll(std::string("CONNECT ") + target + " HTTP/1.1\r\nHost: " + target +
                     "\r\n\r\n");
      std::string reply = client.readUntil(
          [](const std::string &text) { return text.find("\r\n\r\n") != std::string::npos; });
      CHECK(reply.rfind(status, 0) == 0);
      CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1500));
    }
  }
  ::close(silentDns);
}

TEST_CASE("a proxy that is its own parent refuses to start", "[chain][integration]") {
  int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(probe, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  ::getsockname(probe, reinterpret_cast<sockaddr *>(&addr), &length);
  ::close(probe);
  const uint16_t port = ntohs(addr.sin_port);
  CHECK_THROWS_WITH(ProxyFixture([&](auto &o) {
                      o.listen = {{"127.0.0.1", port}};
                      o.upstreamProxy = "http://127.0.0.1:" + std::to_string(port);
                    }),
                    Catch::Contains("own listen address"));
}
