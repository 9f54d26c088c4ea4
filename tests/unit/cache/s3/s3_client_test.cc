// How the client addresses and frames a request, without sending it.
#include <catch2/catch.hpp>

#include "cache/s3/s3_client.h"

using namespace regcache::cache::s3;

namespace {

S3StoreOptions optionsFor(std::string endpoint, bool pathStyle) {
  S3StoreOptions options;
  options.endpoint = std::move(endpoint);
  options.bucket = "fleet-cache";
  options.pathStyle = pathStyle;
  options.credentials = {"AKID", "SECRET", ""};
  return options;
}

S3Request listRequest() {
  S3Request request;
  request.method = "GET";
  request.query = {{"prefix", "p/blobs/sha256/"}, {"list-type", "2"}};
  request.payloadHash = std::string(kEmptyPayloadHash);
  return request;
}

} // namespace

TEST_CASE("s3 client: path-style and virtual-host-style addressing", "[s3]") {
  S3Stats stats;
  S3Client path(optionsFor("https://s3.example.com", true), stats);
  std::string head = path.requestHead(listRequest());
  CHECK(head.rfind("GET /fleet-cache?list-type=2&prefix=p%2Fblobs%2Fsha256%2F HTTP/1.1\r\n", 0) ==
        0);
  CHECK(head.find("\r\nHost: s3.example.com\r\n") != std::string::npos);
  S3Client virtualHost(optionsFor("https://s3.example.com:9000", false), stats);
  S3Request object;
  object.method = "PUT";
  object.key = "p/blobs/sha256/ab cd";
  head = virtualHost.requestHead(object);
  CHECK(head.rfind("PUT /p/blobs/sha256/ab%20cd HTTP/1.1\r\n", 0) == 0);
  CHECK(head.find("\r\nHost: fleet-cache.s3.example.com:9000\r\n") != std::string::npos);
  CHECK(head.find("\r\nContent-Length: 0\r\n") != std::string::npos);
  CHECK(head.find("\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n") != std::string::npos);
  CHECK(head.find("\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/") != std::string::npos);
}

TEST_CASE("s3 client: plain http only when allowed", "[s3]") {
  S3Stats stats;
  CHECK_THROWS_AS(S3Client(optionsFor("http://127.0.0.1:7480", true), stats),
                  std::invalid_argument);
  auto allowed = optionsFor("http://127.0.0.1:7480", true);
  allowed.allowPlainHttp = true;
  CHECK_NOTHROW(S3Client(allowed, stats));
  CHECK_THROWS_AS(S3Client(optionsFor("ftp://x", true), stats), std::invalid_argument);
}
