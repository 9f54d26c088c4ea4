// How a cache hit leaves the proxy over an intercepted TLS connection: a small hit is one TLS
// record (its head and body together), not one for the head and one for the body. Each record
// costs an encryption pass and, here, a write(2): for small manifests that was a third of the
// hit's work (workload 2). Every wait is bounded.
#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "base/sha256.h"
#include "proxy_fixture.h"
#include "raw_socket.h"
#include "scripted_upstream.h"
#include "tls_front.h"

using namespace regcache::test;

namespace {

const std::string kSmall = std::string(2400, 's'); // about a manifest's size
const std::string kDigest = "sha256:" + regcache::sha256Hex(kSmall);

// Called by OpenSSL for each record header it reads (content type SSL3_RT_HEADER).
void countRecord(int writing, int, int contentType, const void *, size_t, SSL *, void *arg) {
  if (writing == 0 && contentType == SSL3_RT_HEADER) ++*static_cast<int *>(arg);
}

// One GET over the TLS connection; the whole response, or what came within the bounds.
std::string get(SSL *ssl, const std::string &request) {
  if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) return {};
  std::string response;
  char buf[16384];
  for (int i = 0; i < 50; ++i) {
    auto end = response.find("\r\n\r\n");
    if (end != std::string::npos && response.size() >= end + 4 + kSmall.size()) break;
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  return response;
}

} // namespace

TEST_CASE("a small cache hit through an intercepted connection is one TLS record",
          "[cache][tls][integration]") {
  ScriptedUpstream upstream([](const RecordedRequest &, UpstreamReply &reply) {
    reply.send(okResponse(kSmall, "Content-Type: application/octet-stream\r\n"
                                  "Docker-Content-Digest: " +
                                      kDigest + "\r\n"));
  });
  TlsFront tls(upstream.port());
  ProxyFixture proxy([&](auto &o) { o.upstreamCaFiles = {tls.caFile()}; });
  std::string target = "127.0.0.1:" + std::to_string(tls.port());
  auto client = RawSocket::connectTo(proxy.port());
  client.sendAll("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
  std::string reply = client.readUntil(
      [](const std::string &r) { return r.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(reply.rfind("HTTP/1.1 200", 0) == 0);
  timeval tv{3, 0}; // every SSL call below blocks at most this long per read
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method()); // the leaf is not verified: not the point
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, client.fd());
  int records = 0;
  SSL_set_msg_callback(ssl, countRecord);
  SSL_set_msg_callback_arg(ssl, &records);
  REQUIRE(SSL_connect(ssl) == 1);
  std::string request =
      "GET /v2/library/test/blobs/" + kDigest + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
  std::string miss = get(ssl, request);
  CHECK(miss.find("X-Cache: MISS") != std::string::npos);
  records = 0;
  std::string hit = get(ssl, request);
  CHECK(hit.find("X-Cache: HIT") != std::string::npos);
  CHECK(hit.substr(hit.find("\r\n\r\n") + 4) == kSmall);
  CHECK(records == 1);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
}
