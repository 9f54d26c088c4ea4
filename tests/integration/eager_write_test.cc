// A hit's response is written to the client socket at once when nothing is queued before it
// (proxy/net/eager_write.h). When the socket is full, OpenSSL keeps part of the record and must
// be called again with the same bytes: these check that such a response, and the ones queued
// after it, reach a client that stalled intact and in order. Every wait is bounded.
#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <thread>

#include "base/openssl_handles.h"
#include "base/sha256.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;

namespace {

// Bytes that differ along the blob, so a byte out of place shows.
std::string makeBlob(std::size_t size) {
  std::string blob(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    blob[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return blob;
}

// Reads one response with a Content-Length body from `ssl` into `out`; false on a TLS error or
// a cut connection.
bool readResponse(SSL *ssl, std::string &pending, std::string &out) {
  char buf[16384];
  for (int i = 0; i < 10000; ++i) {
    auto end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto at = pending.find("Content-Length: ");
      if (at != std::string::npos && at < end) {
        std::size_t length = std::stoul(pending.substr(at + 16));
        if (pending.size() >= end + 4 + length) {
          out = pending.substr(0, end + 4 + length);
          pending.erase(0, end + 4 + length);
          return true;
        }
      }
    }
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
  return false;
}

// A TLS client of an intercepted `target` through the proxy's CONNECT. Every SSL call blocks at
// most 5 s per read or write.
struct InterceptedClient {
  InterceptedClient(uint16_t proxyPort, const std::string &target)
      : socket(RawSocket::connectTo(proxyPort)) {
    socket.sendAll("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    std::string reply = socket.readUntil(
        [](const std::string &r) { return r.find("\r\n\r\n") != std::string::npos; });
    REQUIRE(reply.rfind("HTTP/1.1 200", 0) == 0);
    timeval tv{5, 0};
    setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(socket.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SSL_set_fd(ssl.get(), socket.fd());
    REQUIRE(SSL_connect(ssl.get()) == 1);
  }
  ~InterceptedClient() { ERR_clear_error(); }
  bool send(const std::string &bytes) {
    return SSL_write(ssl.get(), bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }

  RawSocket socket;
  regcache::SslCtxPtr ctx{SSL_CTX_new(TLS_client_method())}; // the leaf is not the point
  regcache::SslPtr ssl{SSL_new(ctx.get())};
};

// An upstream answering every request with `body`, sent in pieces of 10,000 bytes (so the proxy
// streams it in many small reads), as a registry blob `digest` when one is given.
ScriptedUpstream::Handler piecewise(const std::string &body, const std::string &digest) {
  return [&body, digest](const RecordedRequest &, UpstreamReply &reply) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" +
                       (digest.empty() ? "" : "Docker-Content-Digest: " + digest + "\r\n") +
                       "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    if (!reply.send(head)) return;
    for (std::size_t at = 0; at < body.size(); at += 10000) {
      if (!reply.send(body.substr(at, 10000))) return;
    }
  };
}

// GET `path` of `target` through an intercept, the client stopping for 50 ms after every
// 256 KiB it reads while the proxy keeps streaming: each stop fills the socket and the proxy's
// output, each restart drains them. The body it got, empty on a TLS error or a cut connection.
std::string getWithStalls(uint16_t proxyPort, const std::string &target, const std::string &path) {
  InterceptedClient client(proxyPort, target);
  REQUIRE(client.send("GET " + path + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"));
  std::string pending;
  char buf[16384];
  std::size_t nextStall = 256 * 1024;
  for (int i = 0; i < 100000; ++i) {
    auto end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = std::stoul(pending.substr(pending.find("Content-Length: ") + 16));
      if (pending.size() >= end + 4 + length) return pending.substr(end + 4, length);
    }
    if (pending.size() >= nextStall) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      nextStall += 256 * 1024;
    }
    int n = SSL_read(client.ssl.get(), buf, sizeof buf);
    if (n <= 0) return {};
    pending.append(buf, static_cast<std::size_t>(n));
  }
  return {};
}

} // namespace

TEST_CASE("hits to a client that stops reading arrive intact once it reads again",
          "[cache][tls][integration]") {
  const std::string blob = makeBlob(20000); // two records, the second not full
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(blob, "Content-Type: application/octet-stream\r\n"
                                "Docker-Content-Digest: " +
                                    digest + "\r\n"));
  });
  TlsFront tls(upstream.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamCaFiles = {tls.caFile()};
    o.workers = 1;
  });
  std::string target = "127.0.0.1:" + std::to_string(tls.port());
  InterceptedClient client(proxy.port(), target);
  SSL *ssl = client.ssl.get();
  std::string request =
      "GET /v2/library/test/blobs/" + digest + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
  std::string pending;
  std::string response;
  REQUIRE(client.send(request));
  REQUIRE(readResponse(ssl, pending, response));
  REQUIRE(response.find("X-Cache: MISS") != std::string::npos);

  // Enough hits that their answers overfill the socket buffers while the client reads nothing
  // (the requests themselves stay within what the proxy reads ahead).
  constexpr int kHits = 1000;
  std::string requests;
  for (int i = 0; i < kHits; ++i)
    requests += request;
  REQUIRE(client.send(requests));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int intact = 0;
  for (int i = 0; i < kHits; ++i) {
    if (!readResponse(ssl, pending, response)) break;
    bool whole = response.rfind("HTTP/1.1 200", 0) == 0 &&
                 response.find("X-Cache: HIT") != std::string::npos &&
                 response.substr(response.find("\r\n\r\n") + 4) == blob;
    if (!whole) break;
    ++intact;
  }
  CHECK(intact == kHits);
}

// A streamed body goes to the client in the call that reads it from upstream when the client has
// kept up, and through the output once it has not: across the switch, in both directions, no
// byte may be lost, doubled or reordered.
TEST_CASE("a streamed body reaches a TLS client that stops reading intact",
          "[cache][tls][integration]") {
  const std::string body = makeBlob(4 << 20);
  const std::string digest = "sha256:" + regcache::sha256Hex(body);
  ScriptedUpstream upstream(piecewise(body, digest));
  TlsFront tls(upstream.port());
  ProxyFixture proxy([&](auto &o) {
    o.upstreamCaFiles = {tls.caFile()};
    o.workers = 1;
  });
  std::string target = "127.0.0.1:" + std::to_string(tls.port());
  std::string got;
  SECTION("passed through: not a registry path") {
    got = getWithStalls(proxy.port(), target, "/downloads/big");
  }
  SECTION("a fill, read by the client that started it") {
    got = getWithStalls(proxy.port(), target, "/v2/library/test/blobs/" + digest);
  }
  INFO("got " << got.size() << " bytes of " << body.size());
  bool intact = got == body;
  CHECK(intact);
}

TEST_CASE("plain-HTTP hits to a client that stops reading arrive intact once it reads again",
          "[cache][integration]") {
  const std::string blob = makeBlob(20000);
  const std::string digest = "sha256:" + regcache::sha256Hex(blob);
  ScriptedUpstream upstream([&](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(blob, "Content-Type: application/octet-stream\r\n"
                                "Docker-Content-Digest: " +
                                    digest + "\r\n"));
  });
  ProxyFixture proxy([](auto &o) { o.workers = 1; });
  const std::string request = "GET http://127.0.0.1:" + std::to_string(upstream.port()) +
                              "/v2/library/test/blobs/" + digest +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll(request);
  REQUIRE(client.readResponse().find("X-Cache: MISS") != std::string::npos);
  // As above: the answers overfill the socket, so some go out in part and the rest is queued.
  constexpr int kHits = 1000;
  std::string requests;
  for (int i = 0; i < kHits; ++i)
    requests += request;
  client.sendAll(requests);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int intact = 0;
  for (int i = 0; i < kHits; ++i) {
    std::string response = client.readResponse();
    bool whole = response.rfind("HTTP/1.1 200", 0) == 0 &&
                 response.find("X-Cache: HIT") != std::string::npos &&
                 response.substr(response.find("\r\n\r\n") + 4) == blob;
    if (!whole) break;
    ++intact;
  }
  CHECK(intact == kHits);
}
