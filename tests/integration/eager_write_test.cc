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
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
  std::string reply = client.readUntil(
      [](const std::string &r) { return r.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(reply.rfind("HTTP/1.1 200", 0) == 0);
  timeval tv{5, 0}; // every SSL call below blocks at most this long per read or write
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(client.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  regcache::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method())); // the leaf is not the point
  regcache::SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), client.fd());
  REQUIRE(SSL_connect(ssl.get()) == 1);
  std::string request =
      "GET /v2/library/test/blobs/" + digest + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
  std::string pending;
  std::string response;
  REQUIRE(SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) > 0);
  REQUIRE(readResponse(ssl.get(), pending, response));
  REQUIRE(response.find("X-Cache: MISS") != std::string::npos);

  // Enough hits that their answers overfill the socket buffers while the client reads nothing
  // (the requests themselves stay within what the proxy reads ahead).
  constexpr int kHits = 1000;
  std::string requests;
  for (int i = 0; i < kHits; ++i)
    requests += request;
  REQUIRE(SSL_write(ssl.get(), requests.data(), static_cast<int>(requests.size())) ==
          static_cast<int>(requests.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int intact = 0;
  for (int i = 0; i < kHits; ++i) {
    if (!readResponse(ssl.get(), pending, response)) break;
    bool whole = response.rfind("HTTP/1.1 200", 0) == 0 &&
                 response.find("X-Cache: HIT") != std::string::npos &&
                 response.substr(response.find("\r\n\r\n") + 4) == blob;
    if (!whole) break;
    ++intact;
  }
  CHECK(intact == kHits);
  ERR_clear_error();
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
