// The requests the proxy forwards are framed by the proxy: a client's fields can neither hide a
// second request inside a body nor send a request to one host under another's name.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/oci/digest.h"
#include "base/sha256.h"
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

const std::string kManifest = R"({"schemaVersion":2})";
const std::string kManifestType = "application/vnd.oci.image.manifest.v1+json";

std::string manifestHead() {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + kManifestType +
         "\r\nDocker-Content-Digest: sha256:" + regcache::sha256Hex(kManifest) +
         "\r\nContent-Length: " + std::to_string(kManifest.size()) + "\r\n\r\n";
}

// An upstream that answers a blob GET (with a 307) or a manifest HEAD as soon as it has read
// the head, before the body (a registry redirecting to storage, or answering a HEAD, does that),
// and only then reads the body its Content-Length announces, as a keep-alive server must. A
// manifest GET gets kManifest, other paths a 200 naming them.
// It records every request line it parses, so a connection reused while a body was still owed
// shows up as a garbled request.
class EarlyAnswerUpstream {
public:
  EarlyAnswerUpstream() {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (::bind(listen_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::listen(listen_, 16) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr *>(&addr), &length) != 0) {
      throw std::runtime_error("cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~EarlyAnswerUpstream() {
    stopping_ = true;
    acceptor_.join();
    for (auto &t : threads_)
      t.join();
    ::close(listen_);
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

private:
  void acceptLoop() {
    while (!stopping_) {
      pollfd p{listen_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) threads_.emplace_back([this, fd] { serve(fd); });
    }
  }
  // Reads until `buffer` holds `need` bytes or a "\r\n\r\n" (need 0); false on EOF or stop.
  bool fill(int fd, std::string &buffer, std::size_t need) {
    char chunk[4096];
    while (need == 0 ? buffer.find("\r\n\r\n") == std::string::npos : buffer.size() < need) {
      if (stopping_) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }
  void reply(int fd, const std::string &bytes) {
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  void serve(int fd) {
    std::string buffer;
    while (fill(fd, buffer, 0)) {
      std::size_t end = buffer.find("\r\n\r\n");
      std::string head = buffer.substr(0, end);
      buffer.erase(0, end + 4);
      std::string line = head.substr(0, head.find("\r\n"));
      {
        std::lock_guard lock(mutex_);
        lines_.push_back(line);
      }
      std::size_t length = 0;
      if (auto pos = head.find("Content-Length: "); pos != std::string::npos) {
        length = std::stoul(head.substr(pos + 16));
      }
      bool blob = line.find("/blobs/") != std::string::npos;
      bool manifest = line.find("/manifests/") != std::string::npos;
      bool early = blob || (manifest && line.rfind("HEAD ", 0) == 0);
      if (blob) {
        reply(fd, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /cdn/blob\r\n"
                  "Content-Length: 0\r\n\r\n");
      } else if (early) {
        reply(fd, manifestHead());
      }
      if (length > 0 && !fill(fd, buffer, length)) break;
      buffer.erase(0, length);
      std::string path = line.substr(4, line.rfind(' ') - 4);
      if (manifest && !early) {
        reply(fd, manifestHead() + kManifest);
      } else if (!early) {
        reply(fd, okResponse("ok:" + path));
      }
    }
    ::close(fd);
  }

  int listen_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

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

TEST_CASE("a connection whose request body was never sent does not go back to the pool",
          "[framing][pool]") {
  EarlyAnswerUpstream upstream;
  ProxyFixture proxy([](auto &o) { o.workers = 1; });
  std::string blob = "/v2/library/test/blobs/sha256:" + std::string(64, 'b');
  auto client = RawSocket::connectTo(proxy.port());
  // A GET with a body it has not sent yet: upstream answers 307 before reading it.
  client.sendAll("GET http://" + authority(upstream.port()) + blob + " HTTP/1.1\r\nHost: " +
                 authority(upstream.port()) + "\r\nContent-Length: 10\r\n\r\n");
  std::this_thread::sleep_for(300ms);
  client.sendAll("0123456789");
  CHECK(client.readResponse(3000ms).rfind("HTTP/1.1 307", 0) == 0); // not followed: a body
  client.sendAll("GET http://" + authority(upstream.port()) +
                 "/v2/next HTTP/1.1\r\nHost: " + authority(upstream.port()) + "\r\n\r\n");
  std::string next = client.readResponse(3000ms);
  CHECK(next.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(next.find("ok:/v2/next") != std::string::npos);
  // Upstream read exactly the requests the client sent, each whole: none of them became the
  // body another was still owed.
  auto lines = upstream.lines();
  for (const auto &line : lines) {
    bool expected = line == "GET " + blob + " HTTP/1.1" || line == "GET /v2/next HTTP/1.1";
    CHECK(expected);
    if (!expected) INFO(line);
  }
  CHECK(lines.size() == 2);
}

TEST_CASE("an upstream flooding 100 Continue to a client that does not read gets cut off",
          "[framing][interim]") {
  std::string batch;
  while (batch.size() < 64 * 1024)
    batch += "HTTP/1.1 100 Continue\r\n\r\n";
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    for (int i = 0; i < 4096 && reply.send(batch); ++i) { // 256 MiB at most
    }
    reply.closeAfter = true;
  });
  ProxyFixture proxy;
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("GET http://" + authority(upstream.port()) +
                 "/v2/library/x/tags/list HTTP/1.1\r\nHost: " + authority(upstream.port()) +
                 "\r\n\r\n");
  // The client reads nothing for a while; the proxy must neither buffer the flood nor keep
  // reading it.
  std::uint64_t before = 0;
  for (int i = 0; i < 20; ++i) { // at most 2 s
    std::this_thread::sleep_for(100ms);
    std::uint64_t now = upstream.bytesSent();
    if (now == before && now > 0) break;
    before = now;
  }
  CHECK(upstream.bytesSent() < 16ull << 20); // socket buffers, not the proxy's memory
  std::string received = client.readAll(3000ms);
  std::size_t interims = 0;
  for (auto pos = received.find(" 100 Continue"); pos != std::string::npos;
       pos = received.find(" 100 Continue", pos + 1))
    ++interims;
  CHECK(interims <= 10);
  CHECK(received.find("HTTP/1.1 502") != std::string::npos);
  CHECK(received.find("interim") != std::string::npos);
}

TEST_CASE("a revalidation answered before the request body was sent does not pool its connection",
          "[framing][pool]") {
  EarlyAnswerUpstream upstream;
  ProxyFixture proxy([](auto &o) {
    o.workers = 1;
    o.tagTtl = std::chrono::milliseconds(0);
  });
  std::string tag =
      "GET http://" + authority(upstream.port()) +
      "/v2/library/test/manifests/v1 HTTP/1.1\r\nHost: " + authority(upstream.port()) +
      "\r\nAccept: " + kManifestType + "\r\n";
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(tag + "\r\n");
  REQUIRE(client.readResponse().find(kManifest) != std::string::npos);
  // Expired: revalidated with a HEAD that carries the GET's framing; upstream answers it before
  // the body, which the client has not sent yet.
  client.sendAll(tag + "Content-Length: 10\r\n\r\n");
  std::this_thread::sleep_for(300ms);
  client.sendAll("0123456789");
  CHECK(client.readResponse(3000ms).find(kManifest) != std::string::npos);
  client.sendAll("GET http://" + authority(upstream.port()) +
                 "/v2/next HTTP/1.1\r\nHost: " + authority(upstream.port()) + "\r\n\r\n");
  CHECK(client.readResponse(3000ms).find("ok:/v2/next") != std::string::npos);
  for (const auto &line : upstream.lines()) {
    bool expected = line.rfind("GET /v2/library/test/manifests/v1 ", 0) == 0 ||
                    line.rfind("HEAD /v2/library/test/manifests/v1 ", 0) == 0 ||
                    line == "GET /v2/next HTTP/1.1";
    INFO(line);
    CHECK(expected);
  }
}
