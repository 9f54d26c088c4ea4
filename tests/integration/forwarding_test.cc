#include <catch2/catch.hpp>

#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"

using namespace regcache::test;

namespace {

std::string absoluteGet(uint16_t upstreamPort, const std::string &path,
                        const std::string &extra = "") {
  return "GET http://127.0.0.1:" + std::to_string(upstreamPort) + path +
         " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(upstreamPort) + "\r\n" + extra + "\r\n";
}

} // namespace

TEST_CASE("an absolute-form request is forwarded in origin-form without hop-by-hop headers",
          "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse("hello", "Keep-Alive: timeout=5\r\nX-Upstream: yes\r\n"));
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(absoluteGet(upstream.port(), "/v2/?x=1",
                             "Proxy-Connection: keep-alive\r\nConnection: X-Secret\r\n"
                             "X-Secret: 1\r\nAuthorization: Bearer t\r\n"));
  std::string response = client.readResponse();
  REQUIRE(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("\r\n\r\nhello") != std::string::npos);
  CHECK(response.find("X-Upstream: yes") != std::string::npos);
  CHECK(response.find("Keep-Alive") == std::string::npos);
  CHECK(response.find("Via: 1.1 regcache") != std::string::npos);

  auto requests = upstream.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].requestLine() == "GET /v2/?x=1 HTTP/1.1");
  CHECK(requests[0].hasHeaderLine("Host: 127.0.0.1:" + std::to_string(upstream.port())));
  CHECK(requests[0].hasHeaderLine("Authorization: Bearer t"));
  CHECK(requests[0].hasHeaderLine("Via: 1.1 regcache"));
  CHECK(requests[0].head.find("Proxy-Connection") == std::string::npos);
  CHECK(requests[0].head.find("X-Secret") == std::string::npos);
}

TEST_CASE("keep-alive requests on one client connection reuse one upstream connection",
          "[forwarding]") {
  ScriptedUpstream upstream(
      [](const RecordedRequest &, UpstreamReply &reply) { reply.send(okResponse("x")); });
  ProxyFixture proxy([](auto &o) { o.workers = 1; });
  auto client = RawSocket::connectTo(proxy.port());
  for (int i = 0; i < 3; ++i) {
    client.sendAll(absoluteGet(upstream.port(), "/r" + std::to_string(i)));
    REQUIRE(client.readResponse().rfind("HTTP/1.1 200", 0) == 0);
  }
  CHECK(upstream.requests().size() == 3);
  CHECK(upstream.connectionsAccepted() == 1);
}

TEST_CASE("pipelined requests are answered in order", "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &request, UpstreamReply &reply) {
    std::string line = request.requestLine();
    reply.send(okResponse(line.substr(4, line.find(' ', 4) - 4)));
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(absoluteGet(upstream.port(), "/one") + absoluteGet(upstream.port(), "/two") +
                 absoluteGet(upstream.port(), "/three"));
  CHECK(client.readResponse().find("\r\n\r\n/one") != std::string::npos);
  CHECK(client.readResponse().find("\r\n\r\n/two") != std::string::npos);
  CHECK(client.readResponse().find("\r\n\r\n/three") != std::string::npos);
}

TEST_CASE("a chunked upstream response reaches the client complete and chunked", "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    reply.send("6\r\n world\r\n0\r\n\r\n");
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(absoluteGet(upstream.port(), "/"));
  std::string response = client.readResponse();
  REQUIRE(responseLength(response) == response.size());
  CHECK(response.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(response.find("hello") != std::string::npos);
  CHECK(response.find(" world") != std::string::npos);
}

TEST_CASE("a close-delimited upstream body is re-framed so the client connection survives",
          "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof");
    reply.closeAfter = true;
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(absoluteGet(upstream.port(), "/a"));
  std::string first = client.readResponse();
  CHECK(first.find("until-eof") != std::string::npos);
  client.sendAll(absoluteGet(upstream.port(), "/b"));
  CHECK(client.readResponse().find("until-eof") != std::string::npos);
  CHECK(upstream.connectionsAccepted() == 2);
}

TEST_CASE("a HEAD response has no body and the connection stays usable", "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &request, UpstreamReply &reply) {
    if (request.requestLine().rfind("HEAD", 0) == 0) {
      reply.send(
          "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nDocker-Content-Digest: sha256:ab\r\n\r\n");
    } else {
      reply.send(okResponse("after-head"));
    }
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  std::string head = "HEAD http://127.0.0.1:" + std::to_string(upstream.port()) +
                     "/v2/x/blobs/sha256:ab HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  client.sendAll(head);
  std::string response = client.readUntil(
      [](const std::string &s) { return s.find("\r\n\r\n") != std::string::npos; });
  CHECK(response.find("Content-Length: 1000") != std::string::npos);
  CHECK(response.find("Docker-Content-Digest: sha256:ab") != std::string::npos);
  client.sendAll(absoluteGet(upstream.port(), "/next"));
  std::string next = client.readResponse();
  CHECK(next.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(next.find("after-head") != std::string::npos);
}

TEST_CASE("request bodies are forwarded with their framing", "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &request, UpstreamReply &reply) {
    reply.send(okResponse("got:" + request.body));
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  std::string target = "http://127.0.0.1:" + std::to_string(upstream.port()) + "/upload";
  client.sendAll("PUT " + target +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nabcde");
  CHECK(client.readResponse().find("got:abcde") != std::string::npos);
  client.sendAll(
      "POST " + target +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n");
  CHECK(client.readResponse().find("got:xyz") != std::string::npos);
}

TEST_CASE("interim 1xx responses from upstream are relayed before the final one", "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &request, UpstreamReply &reply) {
    reply.send("HTTP/1.1 100 Continue\r\n\r\n");
    reply.send(okResponse("len=" + std::to_string(request.body.size())));
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(
      "PUT http://127.0.0.1:" + std::to_string(upstream.port()) +
      "/b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc");
  std::string response =
      client.readUntil([](const std::string &s) { return s.find("len=3") != std::string::npos; });
  auto interim = response.find("HTTP/1.1 100 Continue\r\n\r\n");
  auto final = response.find("HTTP/1.1 200");
  REQUIRE(interim != std::string::npos);
  REQUIRE(final != std::string::npos);
  CHECK(interim < final);
  CHECK(upstream.requests().at(0).hasHeaderLine("Expect: 100-continue"));
}

TEST_CASE("an unreachable upstream gives the client a 502 that names the reason", "[forwarding]") {
  uint16_t closedPort = 0;
  {
    ScriptedUpstream gone([](const RecordedRequest &, UpstreamReply &) {});
    closedPort = gone.port();
  }
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(absoluteGet(closedPort, "/"));
  std::string response = client.readResponse();
  CHECK(response.rfind("HTTP/1.1 502", 0) == 0);
  CHECK(response.find("cannot connect") != std::string::npos);
}

TEST_CASE("an upstream that dies mid-body aborts the client connection", "[forwarding]") {
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part");
    reply.closeAfter = true;
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(absoluteGet(upstream.port(), "/"));
  std::string received = client.readAll(3000ms);
  CHECK(received.find("only-part") != std::string::npos);
  CHECK(responseLength(received) == 0); // never a complete response
}
