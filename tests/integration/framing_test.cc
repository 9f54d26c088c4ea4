// The requests the proxy forwards are framed by the proxy: a client's fields can neither hide a
// second request inside a body nor send a request to one host under another's name.
#include <catch2/catch.hpp>

#include <thread>

#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

std::string authority(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// Waits (bounded) until the upstream has seen `count` requests; returns what it saw.
std::vector<RecordedRequest> settle(const ScriptedUpstream &upstream, std::size_t count) {
  for (int i = 0; i < 20 && upstream.requests().size() < count; ++i) // at most 1 s
    std::this_thread::sleep_for(50ms);
  // Anything smuggled would arrive right behind: give it the time to show.
  std::this_thread::sleep_for(200ms);
  return upstream.requests();
}

} // namespace

TEST_CASE("Connection: Content-Length cannot smuggle a second request to upstream", "[framing]") {
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("ok")); });
  ProxyFixture proxy([](auto &o) { o.readOnly = true; });
  std::string smuggled = "DELETE /v2/library/alpine/manifests/sha256:" + std::string(64, 'a') +
                         " HTTP/1.1\r\nHost: " + authority(upstream.port()) +
                         "\r\nContent-Length: 0\r\n\r\n";
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET http://" + authority(upstream.port()) + "/v2/ HTTP/1.1\r\nHost: " +
                 authority(upstream.port()) + "\r\nConnection: Content-Length\r\nContent-Length: " +
                 std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  std::string response = client.readResponse();
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);

  auto requests = settle(upstream, 1);
  REQUIRE(requests.size() == 1); // never the DELETE as a request of its own
  CHECK(requests[0].requestLine() == "GET /v2/ HTTP/1.1");
  CHECK(requests[0].hasHeaderLine("Content-Length: " + std::to_string(smuggled.size())));
  CHECK(requests[0].body == smuggled); // it stays the body it was
}

TEST_CASE("a chunked request body stays chunked even when Connection names Transfer-Encoding",
          "[framing]") {
  ScriptedUpstream upstream([](const RecordedRequest &request, UpstreamReply &reply) {
    reply.send(okResponse("got:" + request.body));
  });
  ProxyFixture proxy;
  std::string smuggled = "GET /v2/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string chunk = smuggled.substr(0, 10);
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("POST http://" + authority(upstream.port()) +
                 "/upload HTTP/1.1\r\nHost: " + authority(upstream.port()) +
                 "\r\nConnection: Transfer-Encoding, Content-Length\r\n"
                 "Transfer-Encoding: chunked\r\n\r\na\r\n" +
                 chunk + "\r\n0\r\n\r\n");
  CHECK(client.readResponse().find("got:" + chunk) != std::string::npos);
  auto requests = settle(upstream, 1);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].hasHeaderLine("Transfer-Encoding: chunked"));
}

TEST_CASE("Connection from upstream cannot take the length off the response to the client",
          "[framing]") {
  ScriptedUpstream upstream([](const RecordedRequest &request, UpstreamReply &reply) {
    if (request.requestLine().find("/first") != std::string::npos) {
      reply.send("HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello");
    } else {
      reply.send(okResponse("second"));
    }
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET http://" + authority(upstream.port()) +
                 "/first HTTP/1.1\r\nHost: " + authority(upstream.port()) + "\r\n\r\n");
  std::string first = client.readResponse(2000ms);
  CHECK(first.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(first.find("\r\n\r\nhello") != std::string::npos);
  client.sendAll("GET http://" + authority(upstream.port()) +
                 "/second HTTP/1.1\r\nHost: " + authority(upstream.port()) + "\r\n\r\n");
  CHECK(client.readResponse().find("second") != std::string::npos);
}

TEST_CASE("Host sent upstream names the absolute-form target, never another host", "[framing]") {
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("ok")); });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  // Without a port the client's Host agrees with the target, and is replaced by the full one.
  client.sendAll("GET http://" + authority(upstream.port()) +
                 "/v2/a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 200", 0) == 0);
  // No Host at all: the proxy supplies it.
  client.sendAll("GET http://" + authority(upstream.port()) + "/v2/b HTTP/1.1\r\n\r\n");
  CHECK(client.readResponse().rfind("HTTP/1.1 200", 0) == 0);
  auto requests = settle(upstream, 2);
  REQUIRE(requests.size() == 2);
  for (const auto &request : requests) {
    CHECK(request.hasHeaderLine("Host: " + authority(upstream.port())));
  }
}

TEST_CASE("a Host that disagrees with the absolute-form URI is refused with 400", "[framing]") {
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("ok")); });
  ProxyFixture proxy;
  for (const std::string host : {"b.test", "127.0.0.1:1", "127.0.0.2", "b.test@127.0.0.1"}) {
    auto client = RawSocket::connectTo(proxy.port());
    client.sendAll("GET http://" + authority(upstream.port()) + "/v2/ HTTP/1.1\r\nHost: " + host +
                   "\r\n\r\n");
    std::string response = client.readResponse();
    CHECK(response.rfind("HTTP/1.1 400", 0) == 0);
  }
  auto twice = RawSocket::connectTo(proxy.port());
  twice.sendAll("GET http://" + authority(upstream.port()) + "/v2/ HTTP/1.1\r\nHost: " +
                authority(upstream.port()) + "\r\nHost: b.test\r\n\r\n");
  CHECK(twice.readResponse().rfind("HTTP/1.1 400", 0) == 0);
  CHECK(settle(upstream, 0).empty());
}
